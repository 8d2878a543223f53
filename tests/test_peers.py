"""benchmarks/peers.py: dynlp's counts of a tagged file give the official script's figures, and
UDPipe 1 (the `peers` extra) trains, tags and is scored on a tiny treebank the way the benchmark
runs it on the real ones.  CI's native venv installs the extra and sets DYNLP_REQUIRE_PEERS,
which turns the skip into a failure."""
import json
import os
import sys

import pytest

from test_lemmas import SENTENCES, lemma_treebank

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import peers  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "sample.conllu")


def with_changes(text):
    """The file with a few UPOS, XPOS, FEATS and LEMMA cells changed."""
    lines, changed = [], 0
    for line in text.splitlines():
        cells = line.split("\t")
        if len(cells) == 10 and cells[0].isdigit() and changed < 12:
            column = 2 + changed % 4  # lemma, upos, xpos, feats in turn
            cells[column] = "Number=Sing" if column == 5 else cells[column] + "x"
            changed += 1
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def test_dynlp_counts_give_the_official_figures(tmp_path):
    gold, system = tmp_path / "gold.conllu", tmp_path / "system.conllu"
    gold.write_text(lemma_treebank(SENTENCES), encoding="utf-8")
    system.write_text(with_changes(gold.read_text(encoding="utf-8")), encoding="utf-8")
    official = peers.official_scores(str(gold), str(system))
    ours = peers.dynlp_counts(str(gold), str(system))
    assert official["UPOS"] < 100 and official["Lemmas"] < 100
    assert peers.agree(official, ours) and {"UPOS", "Lemmas"} <= set(ours)
    assert "XPOS" not in ours  # gold XPOS is `_` throughout: nothing to count


@pytest.fixture
def udpipe():
    try:
        import ufal.udpipe
    except ImportError:
        if os.environ.get("DYNLP_REQUIRE_PEERS"):
            pytest.fail("ufal.udpipe is missing but DYNLP_REQUIRE_PEERS is set: "
                        "pip install -e '.[peers]'")
        pytest.skip("ufal.udpipe is not installed (pip install -e '.[peers]')")
    return ufal.udpipe


def test_udpipe_trains_tags_and_its_evaluator_agrees_with_ours(udpipe, tmp_path):
    folder = tmp_path / "ud_tiny"
    folder.mkdir()
    for part in ("train", "dev", "test"):
        (folder / f"tiny-ud-{part}.conllu").write_text(lemma_treebank(SENTENCES * 2),
                                                       encoding="utf-8")
    out = tmp_path / "out" / "tiny"  # the folder of one treebank's results
    out.mkdir(parents=True)
    result = peers.run_udpipe("tiny", str(folder), str(out))
    result.update(system="udpipe", treebank="tiny", commit=None)
    peers.score(result, peers.part(str(folder), "test"))
    assert result["evaluators_agree"], result
    assert result["official"]["UPOS"] > 50 and result["official"]["Lemmas"] > 50
    assert set(result["own_evaluator"]["scores"]) == {"UPOS", "XPOS", "Feats"}
    peers.save(result, str(out))
    table = peers.table(str(tmp_path / "out"))
    assert "| tiny | UDPipe 1 (defaults) |" in table and "| — |" in table  # no XPOS: a dash
    with open(out / "udpipe.json", encoding="utf-8") as f:
        assert json.load(f)["official"] == result["official"]
