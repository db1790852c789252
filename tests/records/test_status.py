"""The one status vocabulary (records/status.py): words as records hold them, their order, and the one counter."""

from __future__ import annotations

import json

from scratchrun.records.status import Status, count, counts_text, ordered, style


def test_a_status_is_its_word_in_json_csv_text_and_comparisons():
    assert Status.PRUNED == "pruned" and f"{Status.PRUNED}" == str(Status.PRUNED) == "pruned"
    assert json.dumps({"status": Status.PRUNED}) == '{"status": "pruned"}'
    assert Status.of("pruned") is Status.PRUNED and Status.of("stopped") is None


def test_counting_keeps_first_seen_order_and_the_text_puts_the_most_frequent_first():
    words = ["pruned", "completed", "pruned", "diverged", "completed", "pruned"]
    assert list(count(words).items()) == [("pruned", 3), ("completed", 2), ("diverged", 1)]
    assert counts_text(words) == "3 pruned, 2 completed, 1 diverged"
    assert counts_text(["b", "a"]) == "1 a, 1 b" and counts_text([]) == "no runs"
    assert counts_text([], none="no trial finished") == "no trial finished"


def test_lists_follow_the_vocabulary_and_unknown_words_come_last():
    assert ordered(["running", "odd", "completed", "pruned", "completed", "another"]) == [
        "completed", "pruned", "running", "another", "odd"]
    assert style("completed") == "green" and style("odd") == ""


def test_a_journal_of_scratchrun_0_2_reads_its_rung_runs_as_pruned(tmp_path):
    from scratchrun.records.reader import read_journal

    line = {"trial": 3, "round": 1, "status": "stopped", "val_acc": 0.5, "stop_epochs": 1, "run_dir": "trial-003"}
    (tmp_path / "journal.jsonl").write_text(json.dumps(line) + "\n")
    assert read_journal(tmp_path)[(3, 1)]["status"] == "pruned"
