"""Packaging for dynlp: recurrent language models and taggers on DyNet's dynamic graphs."""
from setuptools import find_packages, setup

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
    install_requires=["dynet38>=2.2", "numpy", "nltk", "conllu>=6", "tqdm"],
    # ray: `dynlp tag/score --ray` on a Ray cluster (ray.data); never needed otherwise.
    extras_require={"test": ["pytest", "hypothesis"], "ray": ["ray[data]>=2.40"]},
    entry_points={"console_scripts": ["dynlp = dynlp.cli:main"]},
)
