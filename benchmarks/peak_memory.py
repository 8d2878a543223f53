"""Run a command to the end and report its peak resident memory (shared by the memory
benchmarks: train_memory.py, score_memory.py)."""
import json
import subprocess
import sys


def run_fresh(command):
    """(stdout, peak RSS in MB, seconds) of `command`: the largest resident set of the command
    or of any process it started and waited for.  It runs under a fresh Python that reads its
    own children's getrusage, so two runs' peaks are never mixed up; a failure exits."""
    probe = ("import json, resource, subprocess, sys, time; t = time.time(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(json.dumps([r.returncode, r.stderr[-2000:], r.stdout[-100000:], "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time() - t]))")
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True,
                          text=True, check=True)
    code, stderr, stdout, peak_kb, seconds = json.loads(done.stdout)
    if code:
        sys.exit(f"{' '.join(command)} failed:\n{stderr}")
    return stdout, round(peak_kb / 1024), round(seconds, 1)
