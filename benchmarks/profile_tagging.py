"""Where one tagger network's tagging time goes: `predict_many` on EWT dev/test sentences under
cProfile, with speed.py's like-for-like model (TAGGER, untrained: speed does not depend on the
weights).

    python benchmarks/profile_tagging.py [SENTENCES]    # default 1,500 sentences
"""
import cProfile
import os
import pstats
import sys
import time

import speed
from dynlp.backend import INFERENCE_MEM, BackendConfig, configure


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    configure(BackendConfig(seed=1, mem=INFERENCE_MEM))
    pairs, test = speed.tagger_data(False)
    model = speed.dynlp_tagger(speed.TAGGER, pairs)
    test = test[:count]
    model.predict_many(test[:100])  # warm up
    began, profile = time.time(), cProfile.Profile()
    profile.enable()
    model.predict_many(test, batch_size=128)
    profile.disable()
    words = sum(map(len, test))
    print(f"{words} words, {words / (time.time() - began):.0f} words/s under the profiler")
    pstats.Stats(profile).sort_stats(os.environ.get("SORT", "tottime")).print_stats(18)


if __name__ == "__main__":
    main()
