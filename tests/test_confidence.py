"""Confidences: each word's probabilities and alternatives (`tag --probabilities`, `--n-best`,
the library, the server), calibration figures (`evaluate`), and temperatures fitted on dev."""
import dataclasses
import json
import math

import pytest

from dynlp.cli import main
from dynlp.data.confidence import confidence_fields, read_confidences
from dynlp.data.treebank import misc_with, read_treebank
from dynlp.data.vocab import SPECIALS
from dynlp.errors import ModelDirError
from dynlp.metrics import Calibration
from dynlp.models.tagger.heads import split_bundle
from dynlp.models.tagger.network import BiLSTMTagger
from dynlp.tasks.calibration import TEMPERATURES, batch_nll, fit_temperatures
from test_tagger import MORPHOLOGY, SMALL, pairs

COLUMNS = ("upos", "xpos", "feats", "lemma")


@pytest.fixture(scope="module")
def morphology(tmp_path_factory):
    path = tmp_path_factory.mktemp("confidence") / "morphology.conllu"
    path.write_text(MORPHOLOGY, encoding="utf-8")
    return str(path), read_treebank(str(path))


def untrained(sentences, feats="bundle", ensemble=2, seed=3):
    """A tagger of every column with random weights: any slip in the arithmetic shows."""
    config = dataclasses.replace(SMALL, columns=",".join(COLUMNS), feats=feats,
                                 ensemble=ensemble)
    return BiLSTMTagger.from_training_data(config, pairs(sentences, COLUMNS), seed=seed)


@pytest.mark.parametrize("feats", ["bundle", "split"])
def test_every_column_ranks_a_full_distribution_led_by_the_predicted_value(morphology, feats):
    _, sentences = morphology
    model = untrained(sentences, feats)
    model.temperatures = {"upos": 0.7, "feats": 1.6}
    forms = [s.forms for s in sentences] + [["Zyx", "unseen", "barks"]]
    everything = model.predict_ranked(forms, k=100_000)
    for ranked, predicted in zip(everything, model.predict_many(forms)):
        for column in COLUMNS:
            words = ranked[column]
            assert [choices[0][0] for choices in words] == predicted[column]
            for choices in words:
                values = [value for value, _ in choices]
                assert len(set(values)) == len(values)  # each value once (lemmas merged)
                assert not set(values) & set(SPECIALS)  # never <unk> and the like
                assert sum(p for _, p in choices) == pytest.approx(1.0, abs=1e-5)
                assert all(p >= q for (_, p), (_, q) in zip(choices[1:], choices[2:]))
    top3 = model.predict_ranked(forms, k=3)
    one = model.predict_ranked(forms, k=1)  # the chosen value's probability does not move with k
    assert [[c[0] for c in r[col]] for r in one for col in COLUMNS] == \
        [[c[0] for c in r[col]] for r in top3 for col in COLUMNS]
    assert all(len(choices) <= 3 for r in top3 for words in r.values() for choices in words)
    assert [r["upos"] for r in top3] == [[c[:3] for c in r["upos"]] for r in everything]


def test_a_temperature_never_changes_one_networks_choice_but_its_sureness(morphology):
    _, sentences = morphology
    model = untrained(sentences, ensemble=1)
    forms = [s.forms for s in sentences]
    before = model.predict_ranked(forms)
    model.temperatures = {column: 0.5 for column in COLUMNS}
    after = model.predict_ranked(forms)
    for b, a in zip(before, after):
        for column in ("upos", "xpos", "feats"):
            assert [c[0][0] for c in b[column]] == [c[0][0] for c in a[column]]
            assert all(x[0][1] <= y[0][1] + 1e-9 for x, y in zip(b[column], a[column]))


def test_the_fitted_temperature_minimises_the_dev_likelihood_on_its_grid(morphology):
    _, sentences = morphology
    model = untrained(sentences)
    fitted = fit_temperatures(model, sentences)
    with model.frozen():
        losses = batch_nll(model, sentences)  # one batch holds the whole file
    for column in COLUMNS:
        assert fitted[column] in TEMPERATURES
        assert losses[column][TEMPERATURES.index(fitted[column])] == min(losses[column])
        # At T = 1 the loss is -sum log of the mean probability of the gold label, by hand.
        model.temperatures = {}
        mean = model.predict_ranked([s.forms for s in sentences], k=100_000)
        gold = [dict(choices)[label] for r, s in zip(mean, sentences)
                for choices, label in zip(r[column], s.tags[column]) if column != "lemma"]
        if column != "lemma":  # a lemma's scripts are merged in ranked outputs
            by_hand = -sum(math.log(p) for p in gold)
            assert losses[column][TEMPERATURES.index(1.0)] == pytest.approx(by_hand, rel=1e-4)


def test_temperatures_are_saved_loaded_and_checked(morphology, tmp_path):
    _, sentences = morphology
    model = untrained(sentences)
    model.temperatures = {"upos": 0.75, "lemma": 2.0}
    model.save(str(tmp_path / "m"))
    loaded = BiLSTMTagger.load(str(tmp_path / "m"))
    assert loaded.temperatures == {"upos": 0.75, "xpos": 1.0, "feats": 1.0, "lemma": 2.0}
    forms = [s.forms for s in sentences]
    assert loaded.predict_ranked(forms, k=3) == model.predict_ranked(forms, k=3)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["temperatures"]["upos"] = -1
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirError, match="temperatures"):
        BiLSTMTagger.load(str(tmp_path / "m"))


def test_calibration_bins_by_hand():
    calibration = Calibration(bins=4)
    calibration.add([0.1, 0.3, 0.35, 0.9, 1.0], [False, True, False, True, True])
    summary = calibration.summary()
    assert [b["count"] for b in summary["bins"]] == [1, 2, 0, 2]
    assert summary["bins"][1]["confidence"] == pytest.approx(0.325)
    assert summary["bins"][1]["accuracy"] == 0.5
    assert summary["confidence"] == pytest.approx((0.1 + 0.3 + 0.35 + 0.9 + 1.0) / 5)
    # |0 - 0.1| * 1/5 + |0.5 - 0.325| * 2/5 + |1 - 0.95| * 2/5
    assert summary["ece"] == pytest.approx(0.1 / 5 + 0.175 * 2 / 5 + 0.05 * 2 / 5)


def test_misc_fields_round_trip_and_keep_the_rest():
    ranked = {"upos": [("NOUN", 0.7), ("VERB", 0.2), ("ADJ", 0.1)],
              "feats": [("Case=Nom|Number=Sing", 0.6), ("Number=Plur", 0.3), ("_", 0.1)],
              "lemma": [("a:b, c", 0.9), ("x%y", 0.1)]}
    fields = confidence_fields(ranked, n_best=2)
    cell = misc_with("SpaceAfter=No|UPOSProb=0.111", fields)
    assert cell.startswith("SpaceAfter=No|UPOSProb=0.700|UPOSAlt=VERB:0.200,ADJ:0.100|")
    assert cell.count("UPOSProb") == 1 and "\t" not in cell and " " not in cell
    for column, choices in ranked.items():
        p, alternatives = read_confidences(cell, column)
        assert p == choices[0][1] and alternatives == choices[1:3]
    assert read_confidences("_", "upos") == (None, [])
    again = misc_with(cell, confidence_fields(ranked, n_best=0))  # tagged again, no --n-best
    assert "Alt=" not in again and again.startswith("SpaceAfter=No|UPOSProb=0.700")
    assert misc_with("_", confidence_fields({"upos": [("X", 1.0)]}, 0)) == "UPOSProb=1.000"


def test_tag_with_probabilities_adds_only_misc_fields(morphology, tmp_path):
    path, sentences = morphology
    model = untrained(sentences)
    model.save(str(tmp_path / "m"))
    plain = tmp_path / "plain.conllu"
    assert main(["tag", "-m", str(tmp_path / "m"), path, "-o", str(plain), "--quiet"]) == 0
    with pytest.raises(SystemExit) as refused:  # argparse: one line, exit 2
        main(["tag", "-m", str(tmp_path / "m"), path, "--n-best", "11", "--quiet"])
    assert refused.value.code == 2
    for flags in (["--probabilities"], ["--n-best", "2"], ["--n-best", "0", "--workers", "2"]):
        out = tmp_path / "sure.conllu"
        assert main(["tag", "-m", str(tmp_path / "m"), path, "-o", str(out), "--quiet"]
                    + flags) == 0
        n_best = int(flags[1]) if flags[0] == "--n-best" else 0
        mine, theirs = out.read_text().splitlines(), plain.read_text().splitlines()
        assert len(mine) == len(theirs)
        for line, original in zip(mine, theirs):
            if not line[:1].isdigit() or "-" in line.split("\t")[0]:
                assert line == original
                continue
            cells, before = line.split("\t"), original.split("\t")
            assert cells[:9] == before[:9]
            for column, index in (("upos", 3), ("xpos", 4), ("feats", 5)):
                p, alternatives = read_confidences(cells[9], column)
                assert 0 < p <= 1 and len(alternatives) == n_best
                assert all(value != cells[index] for value, _ in alternatives)
                if column == "feats":  # bundles, back from their escapes
                    assert all(split_bundle(v) or v == "_" for v, _ in alternatives)


def test_evaluate_reports_calibration(morphology, tmp_path, capsys):
    path, sentences = morphology
    untrained(sentences).save(str(tmp_path / "m"))
    assert main(["evaluate", "-m", str(tmp_path / "m"), path, "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for column in COLUMNS:
        calibration = summary["calibration"][column]
        assert calibration["words"] == summary["tokens"] and 0 <= calibration["ece"] <= 1
        assert sum(b["count"] for b in calibration["bins"]) == summary["tokens"]
    assert main(["evaluate", "-m", str(tmp_path / "m"), path, "--quiet"]) == 0
    assert "expected calibration error" in capsys.readouterr().out


def test_training_fits_temperatures_unless_told_not_to(morphology, tmp_path):
    path, _ = morphology
    quick = ["--epochs", "2", "--layers", "1", "--hidden-dim", "8", "--char-dim", "8",
             "--mlp-dim", "8", "--no-tokenizer", "--quiet"]
    assert main(["train-tagger", path, "-o", str(tmp_path / "fit")] + quick) == 0
    assert main(["train-tagger", path, "-o", str(tmp_path / "not"), "--no-calibrate"]
                + quick) == 0
    fitted = json.loads((tmp_path / "fit" / "config.json").read_text())
    kept = json.loads((tmp_path / "not" / "config.json").read_text())
    assert set(fitted["temperatures"]) == set(COLUMNS) and fitted["training"]["epoch"] >= 1
    assert set(fitted["temperatures"].values()) <= set(TEMPERATURES)
    assert set(kept["temperatures"].values()) == {1.0}
    BiLSTMTagger.load(str(tmp_path / "fit"))  # checksums still right after the second save


def test_serve_worker_answers_with_confidences_only_when_asked(morphology):
    from dynlp.serve.protocol import Limits, RequestError, tag_request
    from dynlp.serve.worker import tag_requests

    _, sentences = morphology
    model = untrained(sentences)
    text = {"conllu": MORPHOLOGY}
    plain, sure, alternatives = tag_requests(
        model, [tag_request(text, None, Limits())[0],
                tag_request({**text, "probabilities": True}, None, Limits())[0],
                tag_request({**text, "n_best": 2}, None, Limits())[0]], 5000)
    assert plain == tag_requests(model, [tag_request(text, None, Limits())[0]], 5000)[0]
    assert "Prob=" not in plain["ok"]["conllu"] and "UPOSProb=" in sure["ok"]["conllu"]
    for reply, n in ((sure, 0), (alternatives, 2)):
        assert reply["ok"]["conllu"].replace("Prob", "") != plain["ok"]["conllu"]
        for sentence, bare in zip(reply["ok"]["sentences"], plain["ok"]["sentences"]):
            for word, same in zip(sentence, bare):
                assert {k: word[k] for k in same} == same
                assert set(word["probabilities"]) == set(COLUMNS)
                given = word.get("alternatives", {c: [] for c in COLUMNS})
                assert len(given["upos"]) == n  # four tags: always n others
                assert all(len(v) <= n for v in given.values())
    for bad in ({**text, "n_best": -1}, {**text, "n_best": 99}, {**text, "probabilities": 1}):
        with pytest.raises(RequestError):
            tag_request(bad, None, Limits())


def test_plot_draws_a_reliability_diagram_from_evaluate_json(morphology, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path, sentences = morphology
    untrained(sentences).save(str(tmp_path / "m"))
    assert main(["evaluate", "-m", str(tmp_path / "m"), path, "--json", "--quiet"]) == 0
    evaluation = tmp_path / "dev.json"
    evaluation.write_text(capsys.readouterr().out)
    picture = tmp_path / "reliability.svg"
    assert main(["plot", str(evaluation), "-o", str(picture)]) == 0
    drawn = picture.read_text()
    ece = json.loads(evaluation.read_text())["calibration"]["upos"]["ece"]
    assert f"ECE {100 * ece:.2f}%" in drawn and "UPOS" in drawn and "Lemmas" in drawn
    assert main(["plot", str(evaluation), str(tmp_path / "m"), "-o", str(picture)]) == 2
    assert "not both" in capsys.readouterr().err
    (tmp_path / "other.json").write_text('{"tokens": 3}')
    assert main(["plot", str(tmp_path / "other.json"), "-o", str(picture)]) == 2
    assert "no calibration figures" in capsys.readouterr().err
    (tmp_path / "odd.json").write_text('{"calibration": {"upos": {"bins": [{"count": 2}]}}}')
    assert main(["plot", str(tmp_path / "odd.json"), "-o", str(picture)]) == 2
    assert "not as dynlp evaluate --json writes it" in capsys.readouterr().err
