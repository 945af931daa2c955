"""``import ptycho_settings`` stays light: no torch, no lightning, no numpy."""

import subprocess
import sys


def test_import_leaves_torch_and_numpy_unimported():
    code = (
        "import sys, ptycho_settings; "
        "heavy = {'torch', 'lightning', 'numpy'} & set(sys.modules); assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_public_names():
    import ptycho_settings

    for name in (
        "ModelConfig",
        "TrainingConfig",
        "InferenceConfig",
        "PyTorchExecutionConfig",
        "update_legacy_dict",
        "create_training_config",
        "create_inference_config",
        "to_legacy_params",
        "from_legacy_params",
        "resolve_execution",
        "SettingsError",
    ):
        assert name in ptycho_settings.__all__ and hasattr(ptycho_settings, name)
