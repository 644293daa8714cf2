"""The small YAML emitter and the JSON copy of study.yaml: the two things that keep PyYAML off ask and tell.

Both are shortcuts around a real parser, so both are checked against it:
whatever the emitter writes, PyYAML must read back as the same data; the
copy must say what study.yaml says, and must not be believed once
study.yaml has changed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from asktell.fileio import dump_yaml
from tests.conftest import run_asktell

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(["yes", "No", "on", "null", "~", "1e-05", "0x1F", "1_000", "2026-11-23", "a: b", "- x",
                     "#", "'", '"', "\\", "\x7f", "é", "😀", "a\nb", " lead", "trail ", "", "12:30", ".5"]),
)
plain_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,6}", fullmatch=True)
keys = st.one_of(plain_keys, st.sampled_from(["yes", "on", "N", "a b", "-x", "1", "é", ""]))
documents = st.dictionaries(keys, st.one_of(scalars, st.dictionaries(keys, scalars, max_size=4)), max_size=6)
#: What ask and tell write: names as the space allows them, numbers, booleans and ASCII words.
simple_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                           st.text(st.characters(max_codepoint=126), max_size=12))
unquoted_keys = plain_keys.filter(lambda k: k.lower() not in {"yes", "no", "true", "false", "on", "off", "y", "n",
                                                              "null"})
simple_documents = st.dictionaries(
    unquoted_keys, st.one_of(simple_scalars, st.dictionaries(unquoted_keys, simple_scalars, max_size=4)),
    min_size=1, max_size=6)


def same(a, b) -> bool:
    """Equal, with NaN equal to itself and types kept apart (1 is not 1.0 is not True)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(documents)
def test_pyyaml_reads_back_whatever_the_emitter_writes(document):
    assert same(yaml.safe_load(dump_yaml(document)) or {}, document)


@settings(max_examples=400, deadline=None)
@given(simple_documents)
def test_documents_like_params_yaml_are_written_without_pyyaml(document):
    """Proof that the test above exercises the emitter and not only PyYAML's own dumper."""
    import asktell.fileio

    def no_pyyaml():
        raise AssertionError("fell back to PyYAML")

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(asktell.fileio, "_yaml", no_pyyaml)
        text = dump_yaml(document)
    assert same(yaml.safe_load(text), document)


def test_a_params_document_needs_no_quoting_where_yaml_needs_none():
    text = dump_yaml({"trial": 3, "params": {"lr": 1e-05, "opt": "adam", "flag": True, "n": 4, "big": 1e16}})
    assert text == "trial: 3\nparams:\n  lr: 1.0e-05\n  opt: adam\n  flag: true\n  n: 4\n  big: 1.0e+16\n"


def test_words_yaml_would_misread_are_quoted():
    assert dump_yaml({"answer": "yes", "when": "2026-11-23", "code": "007"}) == \
        'answer: "yes"\nwhen: "2026-11-23"\ncode: "007"\n'


def imports_of(*args: str) -> str:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "asktell", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_ask_and_tell_with_a_value_do_not_import_pyyaml(study):
    assert " yaml" not in imports_of("ask", str(study))
    assert " yaml" not in imports_of("tell", str(study), "0", "--value", "0.5")


def copy_of(study) -> dict:
    return json.loads((study / "cache" / "study.json").read_text())


def test_create_writes_a_copy_that_says_what_study_yaml_says(study, valid_files):
    assert copy_of(study)["study"] == yaml.safe_load((study / "study.yaml").read_text())
    valid_files(study)


def test_a_hand_edited_study_yaml_wins_over_its_copy(study):
    config = study / "study.yaml"
    config.write_text(config.read_text().replace("max_trials: null", "max_trials: 1"))
    assert run_asktell("ask", study).returncode == 0
    assert run_asktell("ask", study).returncode == 4  # the copy said no limit; study.yaml says 1
    assert copy_of(study)["study"]["max_trials"] == 1


def test_a_damaged_copy_is_made_again(study):
    copy = study / "cache" / "study.json"
    copy.write_text('{"source": [1, 2], "stu')
    assert run_asktell("ask", study).returncode == 0
    assert copy_of(study)["study"] == yaml.safe_load((study / "study.yaml").read_text())


def test_check_flags_a_copy_that_contradicts_study_yaml(study):
    copy = study / "cache" / "study.json"
    document = copy_of(study)
    document["study"]["seed"] += 1
    copy.write_text(json.dumps(document))
    info = os.stat(study / "study.yaml")
    assert document["source"] == [info.st_size, info.st_mtime_ns]
    result = run_asktell("check", study)
    assert result.returncode == 1
    assert "study.json" in result.stdout and "differs from the study.yaml" in result.stdout
