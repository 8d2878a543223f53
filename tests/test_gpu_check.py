"""scripts/gpu_check.sh's arguments (the check itself is rehearsed by .ci/gpu-rehearsal, and runs
on a GPU machine; docs/gpu.md)."""
import os
import subprocess

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "gpu_check.sh")


def check(*args):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=60)


def test_help_names_both_halves():
    done = check("--help")
    assert done.returncode == 0 and "--prepare KIT" in done.stdout and "--run KIT" in done.stdout


def test_a_folder_that_is_not_a_kit_is_one_line_and_exit_2(tmp_path):
    done = check("--run", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == f"gpu_check.sh: {tmp_path} is not a kit (make one with --prepare)\n"


def test_unknown_options_and_no_action_are_refused():
    assert check("--frobnicate").returncode == 2
    assert "give --prepare KIT or --run KIT" in check().stderr
