"""Search folding (hub/textfold.py): spelling variants meet, the synonym file is checked."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from etl import normalise as norm
from hub.textfold import (
    _MARKS,
    SYNONYMS_FILE,
    SynonymError,
    _long_mark,
    _long_marks,
    fold_indexed,
    fold_query,
    fold_spelling,
    load_synonyms,
    text_folder,
)


@pytest.mark.parametrize(("variants", "folded"), [
    (["センター", "ｾﾝﾀｰ", "センタ", "センタ-", "センタ〜", "せんた"], "せんた"),
    (["エレベーター", "エレベータ", "ｴﾚﾍﾞｰﾀｰ"], "えれべーた"),
    (["三ヶ名", "三ケ名", "三ゖ名"], "三け名"),
    (["4ー13ー7", "4−13−7", "４－１３－７", "4‐13‐7"], "4-13-7"),
    (["9:00～17:00", "9:00〜17:00", "9:00~17:00"], "9:00~17:00"),
    (["ＮＫビル", "nkビル", "NKﾋﾞﾙ"], "nkびる"),
])
def test_spelling_variants_fold_alike(variants: list[str], folded: str) -> None:
    assert {fold_spelling(v) for v in variants} == {folded}


def test_short_words_keep_their_long_vowel() -> None:
    # ビル (building) and ビール (beer) stay apart; カー keeps its mark (two kana only)
    assert fold_spelling("ビール") != fold_spelling("ビル")
    assert fold_spelling("カー") == "かー"


@pytest.mark.parametrize(("variants", "canonical"), [
    (["車いす", "車椅子", "車イス", "ｸﾙﾏｲｽ", "くるまいす"], "車いす"),
    (["トイレ", "便所", "お手洗い", "化粧室"], "といれ"),
    (["バス停", "停留所", "バス停留所"], "ばす停"),
    (["AED", "ＡＥＤ", "自動体外式除細動器"], "aed"),
    (["駐車場", "パーキング"], "駐車場"),
    (["多目的トイレ", "多機能トイレ", "バリアフリートイレ"], "多目的といれ"),
    (["車椅子使用者用トイレ", "車イストイレ", "車椅子トイレ"], "車いす使用者用といれ"),
    (["身障者用駐車場", "障がい者用駐車場", "身体障害者用駐車場"], "障害者用駐車場"),
])
def test_synonyms_meet_on_the_query_side(variants: list[str], canonical: str) -> None:
    assert {fold_query(v) for v in variants} == {canonical}


def test_indexed_text_keeps_the_spelling_and_adds_the_canonical_form() -> None:
    # a whole synonym matches the canonical part, a part of a word the spelling part
    assert fold_indexed("高松市片原町公衆便所") == "高松市片原町公衆便所 高松市片原町公衆といれ"
    assert fold_query("公衆トイレ") in fold_indexed("高松市片原町公衆便所")
    assert fold_query("車椅") in fold_indexed("車椅子")
    assert fold_query("バリアフリー") in fold_indexed("バリアフリートイレ")
    assert fold_indexed("車イス") == "車いす"  # nothing to add


def test_latin_synonyms_do_not_change_other_words() -> None:
    assert fold_query("caedmon") == "caedmon"
    assert fold_query("AED") == "aed" and fold_query("24H") == "24時間"
    assert fold_query("24hours") == "24hours"


def test_folding_is_idempotent_over_the_synonym_file() -> None:
    for group in text_folder().groups:
        for spelling in group.spellings:
            once = fold_query(spelling)
            assert fold_query(once) == once, spelling


def test_search_text_folds_every_cell() -> None:
    import pandas as pd

    frame = pd.DataFrame({"name": ["高松市公衆便所", "ＡＢＣ", None],
                          "note": ["車イス可", None, "センター"]})
    assert norm.search_text(frame, ["name", "note"]).tolist() == [
        "高松市公衆便所 高松市公衆といれ 車いす可", "abc", "せんた"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "synonyms.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "message"), [
    ('[[group]]\nspellings = ["トイレ"]\nwhy = "x"\n', "group 1: 'spellings' must list two"),
    ('[[group]]\nspellings = ["トイレ", "便所"]\n', "group 1: 'why' must say"),
    ('[[group]]\nspellings = ["トイレ", "お 手洗い"]\nwhy = "x"\n', "must be one word"),
    ('[[group]]\nspellings = ["トイレ", "便所"]\nwhy = "x"\n'
     '[[group]]\nspellings = ["厠", "便所"]\nwhy = "y"\n', "group 2: spelling '便所' is already"),
    ("[[group]\n", "invalid TOML"),
])
def test_a_bad_synonym_file_is_refused_with_file_and_group(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SynonymError, match=message) as caught:
        load_synonyms(path)
    assert str(path) in str(caught.value)


def test_the_identity_names_the_synonym_table(tmp_path: Path) -> None:
    one = load_synonyms(_write(tmp_path, '[[group]]\nspellings = ["トイレ", "便所"]\nwhy = "x"\n'))
    two = load_synonyms(_write(tmp_path, '[[group]]\nspellings = ["トイレ", "厠"]\nwhy = "x"\n'))
    assert one.identity != two.identity
    assert load_synonyms(SYNONYMS_FILE).identity == text_folder().identity


def test_folding_a_column_at_once_equals_folding_each_cell() -> None:
    from hub.textfold import fold_indexed_many

    cells = ["高松市公衆便所", "ｾﾝﾀｰ", "", "caed aed", "4ー13ー7", "すごーい", "センター",
             "車イス\x00便所", "ＡＥＤ", "24h 24hours", "バス停留所前", "ー"]
    assert fold_indexed_many(cells) == [fold_indexed(c) for c in cells]
    assert fold_indexed_many([c for c in cells if "\x00" not in c]) == [
        fold_indexed(c) for c in cells if "\x00" not in c]
    assert fold_indexed_many([]) == []


def test_katakana_become_hiragana_as_the_translation_table_says_for_every_character() -> None:
    """The numpy table does, for every code point (lone surrogates and characters beyond
    U+FFFF included), what str.translate does with the table it is built from."""
    from hub import textfold

    every = "".join(map(chr, range(0x110000)))
    assert textfold._to_hiragana(every) == every.translate(textfold._TO_HIRAGANA)
    assert textfold._to_hiragana("ヴァカンスヵ所ヶ丘ヽヾ😀") == "ゔぁかんすか所け丘ゝゞ😀"
    assert textfold._to_hiragana("") == ""


def test_long_marks_by_translation_equal_the_rule_run_by_run() -> None:
    """The one-pass form of the long-mark rule gives what the per-run rule gives, on random
    text of kana, kanji, digits, Latin letters, every mark and the private-use stand-in."""
    alphabet = list("アカンぁゖヶヺ車区1a ") + list("ー-‐‑‒–—―−─━﹣~〜〰") + ["\ue000"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _long_marks(text) == _MARKS.sub(_long_mark, text), text
    assert _long_marks("ア--イ〜〜1ー2") == "アーイー1-2"
