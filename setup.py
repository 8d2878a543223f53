"""Packaging for dynlp: recurrent language models and taggers on DyNet's dynamic graphs."""
import os

from setuptools import find_packages, setup

# DyNet built from source (scripts/build_dynet.sh, docs/build.md) is installed as the distribution
# `dynet` in place of dynet38 (both provide `import dynet`).  DYNLP_DYNET=source stops pip from
# installing dynet38 back over it.
DYNET = [] if os.environ.get("DYNLP_DYNET") == "source" else ["dynet38>=2.2"]

setup(
    name="dynlp",
    version="0.1.0",
    description="Readable recurrent language models and taggers on DyNet's dynamic-graph API",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["dynlp", "dynlp.*"]),
    python_requires=">=3.9",
    # dynet38 is the maintained DyNet 2.x wheel; it provides `import dynet`.
    # Never also depend on `dynet`: its 2.1.2 sdist does not build on current Pythons.
    # threadpoolctl: numpy's BLAS on one thread while tagging in numpy (models/tagger/inference.py),
    # whose processes already fill the cores.
    install_requires=DYNET + ["numpy", "nltk", "conllu>=6", "tqdm", "threadpoolctl"],
    # ray: `dynlp tag/score --ray` on a Ray cluster (ray.data); never needed otherwise.
    # serve: `dynlp serve` (an ASGI app on uvicorn; with httptools' HTTP parser and uvloop's
    # event loop, which leave the workers more of the cores, the p99 latency of 20-word
    # requests at 8 clients fell from 104 to 66 ms: benchmarks/RESULTS.md).  browser: the page's
    # test drives the system's Chromium with Playwright (never a browser that Playwright
    # downloads).  plot: `dynlp plot`'s learning curves (matplotlib's Agg renderer, no display
    # needed; the README's test command installs it, the GPU check's offline kit does not, and
    # there its drawing tests skip).
    # bench: what benchmarks/ alone needs (gensim: the Word2Vec vectors of
    # benchmarks/embeddings.py); never a runtime need.
    extras_require={"test": ["pytest", "hypothesis", "safetensors"],
                    "ray": ["ray[data]>=2.40"], "plot": ["matplotlib>=3.5"],
                    "serve": ["starlette>=0.40", "uvicorn>=0.30", "httptools>=0.6",
                              "uvloop>=0.19; sys_platform != 'win32'"],
                    "browser": ["playwright"], "bench": ["gensim>=4"],
                    # KenLM, to check the ARPA files (tests/test_kenlm.py); compiles C++
                    "kenlm": ["kenlm"],
                    # UDPipe 1, the peer of benchmarks/peers.py (tests/test_peers.py)
                    "peers": ["ufal.udpipe"]},
    package_data={"dynlp": ["serve/web/*"]},
    entry_points={"console_scripts": ["dynlp = dynlp.cli.main:main"]},
)
