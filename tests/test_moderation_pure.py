"""The risk finder and the highlighter of ``survey.domain.text_risks``, without the app: names,
places and numbers found where a moderator should look, and HTML that shows exactly the
text, escaped, whatever the spans."""

from __future__ import annotations

import re
from html import unescape

from hypothesis import given
from hypothesis import strategies as st

from survey.domain.text_risks import KINDS, Span, find_risks, first_names, highlight, merge, places


def found(text: str, extra=()) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.kind) for s in find_risks(text, extra)]


def plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]*>", "", html))


def test_the_lists_are_read_and_long_enough():
    assert len(first_names()) >= 300 and {"kari", "ola", "ingrid", "håkon"} <= first_names()
    assert len(places()) >= 200 and {"oslo", "bodø", "mo i rana"} <= places()


def test_first_names_are_found_case_insensitively_as_whole_words_and_in_the_genitive():
    text = "kari hjalp meg, og KNUT også. Karis kontor, Ingrid's tips og Ingrid’s råd."
    assert found(text) == [
        ("kari", "name"),
        ("KNUT", "name"),
        ("Karis", "name"),
        ("Ingrid's", "name"),
        ("Ingrid’s", "name"),
    ]


def test_names_inside_other_words_are_not_names():
    assert found("Karikatur og olabukse, annerledes") == []


def test_names_that_are_everyday_words_count_only_with_a_capital():
    assert found("Jeg møtte dem en gang per dag, hans mor var med.") == []
    assert found("Per og Hans var der.") == [("Per", "name"), ("Hans", "name")]


def test_places_from_the_list_and_from_the_caller():
    text = "Jeg bor i Mo i Rana, flyttet fra bergen, går til NAV Lillevik i Storbygd."
    assert found(text, ["NAV Lillevik", "Storbygd"]) == [
        ("Mo i Rana", "place"),
        ("bergen", "place"),
        ("NAV Lillevik", "place"),
        ("Storbygd", "place"),
    ]


def test_numbers_of_every_kind():
    text = "Jeg er 19 år, møtet var 12.03.2024 kl 14:30 i Storgata 5b."
    assert [t for t, kind in found(text) if kind == "number"] == ["19", "12.03.2024", "14:30", "5"]


def test_a_word_that_is_a_name_and_a_place_gives_two_spans():
    spans = find_risks("Hilsen fra Kari", ["Kari"])
    assert sorted(s.kind for s in spans) == ["name", "place"]
    assert highlight("Hilsen fra Kari", spans) == (
        'Hilsen fra <mark class="risk risk-name risk-place">Kari</mark>'
    )


def test_highlight_marks_each_kind_and_escapes_the_text():
    text = "<script>alert(1)</script> Ola i Oslo"
    html = str(highlight(text, find_risks(text), {"name": "Navn", "place": "Sted"}))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<mark class="risk risk-name" title="Navn">Ola</mark>' in html
    assert '<mark class="risk risk-place" title="Sted">Oslo</mark>' in html
    assert '<mark class="risk risk-number" title="number">1</mark>' in html


def test_merge_joins_overlaps_and_clips():
    spans = [
        Span(0, 4, "name"),
        Span(2, 6, "place"),
        Span(6, 8, "number"),
        Span(9, 99, "number"),
        Span(5, 5, "name"),
    ]
    assert merge(spans, 10) == [
        (0, 6, ("name", "place")),
        (6, 8, ("number",)),
        (9, 10, ("number",)),
    ]


spans_strategy = st.lists(
    st.builds(Span, st.integers(-5, 60), st.integers(-5, 60), st.sampled_from(KINDS)), max_size=12
)


@given(text=st.text(max_size=50), spans=spans_strategy)
def test_highlighted_html_is_the_text_and_nothing_raw(text, spans):
    html = str(highlight(text, spans, {"name": 'Na"vn<'}))
    assert plain(html) == text
    # Every "<" in the HTML opens one of our own tags: none comes from the text.
    assert all(html.startswith(("<mark ", "</mark>"), i) for i, c in enumerate(html) if c == "<")
    assert html.count("<mark ") == html.count("</mark>") == len(merge(spans, len(text)))
    assert "<mark" not in re.sub(r"<mark [^>]*>[^<]*</mark>", "", html)  # never nested


@given(text=st.text(alphabet=st.sampled_from("Kari Oslo 12 <&>'\"ø\n"), max_size=60))
def test_found_risks_highlight_to_the_same_text(text):
    spans = find_risks(text, ["Tromsø"])
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert plain(str(highlight(text, spans))) == text
