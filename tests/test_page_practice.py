"""Practice mode's score in the URL (issue 13): the nodes answered, right or wrong, are in the link, so a reload
or a link a teacher shares keeps the step's score. Expected numbers are plain PyTorch's (tests/test_page.py)."""

from __future__ import annotations

from typing import Any

from tests import page_helpers
from tests.page_helpers import PageSession
from tests.test_page import lecture_steps

browser = page_helpers.browser
page_server = page_helpers.page_server
session = page_helpers.session

HASH_JS = "new URLSearchParams(location.hash.slice(1))"


def answer(page: Any, text: str, said: str) -> None:
    page.get_by_test_id("practice-input").fill(text)
    page.get_by_test_id("practice-check").click()
    page.get_by_text(said).wait_for()


def score(page: Any) -> str:
    return str(page.get_by_test_id("practice-score").inner_text())


def test_the_score_survives_a_reload_and_a_shared_link(session: PageSession, browser: Any) -> None:
    s = lecture_steps(3)[2]
    r = 2 * ((s["x"] * s["w"]) - s["y"])  # ∂loss/∂(y_hat - y) = 2r, by hand from the step's numbers
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    page.get_by_test_id("practice-toggle").click()
    practice = page.get_by_test_id("practice")
    practice.get_by_test_id("practice-input").wait_for()
    assert score(page) == ""  # nothing answered yet
    answer(page, f"{r:.3f}", "Right: PyTorch computed")
    answer(page, "7", "Not quite")  # the wrong-answer path: judged wrong, and kept as wrong
    assert score(page) == "This step: 1 of 2 right"
    session.wait_js(f"({HASH_JS}.get('answers') || '').split(',').length === 2")
    answers = page.evaluate(f"{HASH_JS}.get('answers')")
    assert answers.count("=1") == 1 and answers.count("=0") == 1, answers

    page.reload()
    session.wait_selector("[data-testid=graph][data-ready='1']")
    practice.get_by_test_id("practice-input").wait_for()
    assert score(page) == "This step: 1 of 2 right"  # the score, and where the walk is, kept
    assert "∂loss/∂w" in practice.inner_text() and "-16.23" not in session.visible_graph_text()
    link = page.url

    # another step has its own score; back on step 2 it is there again
    session.go(3, "backward")
    session.wait_js("document.querySelector('[data-testid=practice-score]').textContent === ''")
    session.go(2, "backward")
    session.wait_js("document.querySelector('[data-testid=practice-score]').textContent === 'This step: 1 of 2 right'")

    # a link shared with a class: a fresh browser opens it with the score and the question it stopped at
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    try:
        other = PageSession.attach(context.new_page(), session.base)
        other.page.goto(link)
        other.wait_selector("[data-testid=graph][data-ready='1']", timeout=60_000)
        other.page.get_by_test_id("practice-input").wait_for()
        assert score(other.page) == "This step: 1 of 2 right"
        answer(other.page, f"{s['upstream'] * s['x']:.2f}", "Every gradient of this step is shown")  # -16.23
        assert score(other.page) == "This step: 2 of 3 right"
        assert "-16.23" in other.visible_graph_text()
        other.shot("page-practice-shared.png")
        assert not other.errors, other.errors
    finally:
        context.close()
