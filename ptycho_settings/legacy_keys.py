"""The legacy params-dict key table (upstream ``params.cfg``), without any behaviour."""

from __future__ import annotations

# Canonical field -> legacy key, where they differ. Every other field keeps its name.
TO_LEGACY_KEY: dict[str, str] = {
    "object_big": "object.big",
    "probe_big": "probe.big",
    "probe_mask": "probe.mask",
    "probe_trainable": "probe.trainable",
    "intensity_scale_trainable": "intensity_scale.trainable",
    "positions_provided": "positions.provided",
    "output_dir": "output_prefix",
    "train_data_file": "train_data_file_path",
    "test_data_file": "test_data_file_path",
}
FROM_LEGACY_KEY: dict[str, str] = {legacy: field for field, legacy in TO_LEGACY_KEY.items()}

# Keys an upstream legacy dict may hold that carry no setting of ours: simulation-only keys,
# values written at run time, and research-era fields this distribution does not implement.
LEGACY_ONLY_KEYS: frozenset[str] = frozenset(
    {
        # simulation-only (upstream DEFAULT_CFG)
        "offset", "outer_offset_train", "outer_offset_test", "big_gridsize",
        "max_position_jitter", "sim_jitter_scale", "default_probe_scale", "tv_weight",
        "nimgs_train", "nimgs_test", "data_source", "set_phi", "label", "size", "h5_path",
        "npseed", "use_xla_translate",
        # written at run time
        "intensity_scale", "probe", "timestamp", "bigN", "_version",
        # research-era (upstream "ext") fields
        "fno_modes", "fno_width", "fno_blocks", "fno_cnn_blocks", "learned_input_channels",
        "max_hidden_channels", "resnet_width", "fno_input_transform", "generator_output_mode",
        "probe_mask_sigma", "probe_mask_diameter", "torch_loss_mode",
        "torch_mae_pred_l2_match_target",
        # execution settings upstream wrote into the dict; they never come back from it
        "gradient_clip_val", "gradient_clip_algorithm",
    }
)  # fmt: skip
