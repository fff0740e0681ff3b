"""The EV Sessions card in a real browser, against a real Home Assistant running the demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import re
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect
import pytest

from .conftest import log_in, open_page, screenshot

DASHBOARD = "/lovelace/charging"
QUARTER = timedelta(minutes=15)
PLAN_ACTION = """async ({entry, energy, departure, start}) => {
  const hass = document.querySelector("home-assistant").hass;
  const when = start ? {start: start} : {};
  const answer = await hass.callWS({
    type: "call_service", domain: "ev_sessions", service: "plan_charging",
    service_data: {config_entry_id: entry, energy_kwh: energy, departure: departure, ...when},
    return_response: true,
  });
  return answer.response;
}"""


GET_SESSIONS = """async (entry) => {
  const hass = document.querySelector("home-assistant").hass;
  const answer = await hass.callWS({
    type: "call_service", domain: "ev_sessions", service: "get_sessions",
    service_data: {config_entry_id: entry}, return_response: true,
  });
  return answer.response;
}"""


def _dashboard(browser: Browser, url: str, *, edit: bool = False, **options: Any) -> Page:
    """A new tab on the demo's dashboard (in edit mode when asked), logged in."""
    page = open_page(browser, **options)
    log_in(page, url)
    page.goto(url + DASHBOARD + ("?edit=1" if edit else ""))
    return page


def _card(page: Page, title: str) -> Locator:
    return page.locator("ev-sessions-card").filter(has=page.locator(".title", has_text=title))


def _session_shown(page: Page, title: str) -> Locator:
    card = _card(page, title)
    expect(card.locator("[data-section=session] [data-value=energy]")).to_be_visible(timeout=90_000)
    return card


def _quarters(slots: list[dict[str, Any]]) -> set[datetime]:
    """The quarter hours the slots charge in."""
    quarters = set()
    for slot in slots:
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        quarter = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
        while quarter < end:
            quarters.add(quarter)
            quarter += QUARTER
    return quarters


def test_the_demo_session_shows_and_the_plan_bars_are_the_plan_actions_slots(
    home_assistant: str, browser: Browser
) -> None:
    page = _dashboard(browser, home_assistant)
    expect(page.locator("ev-sessions-card")).to_have_count(2, timeout=60_000)
    card = _session_shown(page, "Simulated wallbox")
    expect(card.locator(".chip")).to_have_text(re.compile("Charging|Connected"))
    expect(card.locator("[data-fact=power] .value")).to_have_text(re.compile(r"kW$"))
    expect(card.locator("[data-fact=session_cost] .value")).to_have_text(re.compile("SEK$"))
    expect(card.locator("[data-section=plan] rect[data-planned]").first).to_be_attached()
    # The departure is marked where the session's departure is.
    departure = card.evaluate("card => card._data.departure")
    expect(card.locator(".departure-line")).to_have_attribute("data-departure", departure)

    # The bars marked planned are the quarters the plan action chooses for the same energy,
    # departure and start (the card may redraw between the two reads: try again then). The
    # live plan stands for up to a minute: when it charges now, its first slot starts when it
    # was made, and planned from a later moment the same energy may need one more quarter.
    for _attempt in range(5):
        data = card.evaluate("card => card._data")
        planned = {
            datetime.fromisoformat(start)
            for start in card.locator("rect[data-planned]").evaluate_all(
                "bars => bars.map(bar => bar.dataset.start)"
            )
        }
        entry = card.evaluate("card => card._config.entry_id")
        slots = data["plan"]["slots"]
        first = slots[0]["start"] if slots else None
        # A plan that charges now was made when its first slot starts.
        made = first if first and datetime.fromisoformat(first) <= datetime.now(UTC) else None
        answer = page.evaluate(
            PLAN_ACTION,
            {
                "entry": entry,
                "energy": data["plan"]["energy_kwh"],
                "departure": departure,
                "start": made,
            },
        )
        if planned == _quarters(answer["slots"]):
            break
        page.wait_for_timeout(1000)
    assert planned
    assert planned == _quarters(answer["slots"])
    # And each planned bar's price is the price the plan pays in that quarter.
    bars = {datetime.fromisoformat(p["start"]): p["price"] for p in data["prices"]}
    for slot in data["plan"]["slots"]:
        start = datetime.fromisoformat(slot["start"])
        quarter = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
        assert abs(bars[quarter] - slot["price"]) < 1e-3
    # The last five sessions, newest first, are those the get_sessions action returns.
    sessions = page.evaluate(GET_SESSIONS, entry)["sessions"]
    finished = sorted((s for s in sessions if s["end"]), key=lambda s: s["start"])[-5:][::-1]
    rows = card.locator("[data-section=sessions] tr[data-session]")
    expect(rows).to_have_count(5)
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.session)") == [
        s["id"] for s in finished
    ]
    energy = rows.first.locator("td.num").first
    expect(energy).to_have_text(f"{finished[0]['energy_kwh']:.1f} kWh")
    screenshot(card, "card-light")
    screenshot(_card(page, "Demo garage"), "card-garage")
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_garage_shows_its_user_and_this_month_per_user(
    home_assistant: str, browser: Browser
) -> None:
    page = _dashboard(browser, home_assistant)
    card = _session_shown(page, "Demo garage")
    # The simulated box authorises Anna's card first.
    expect(card.locator("[data-fact=session_energy] .value")).to_have_text("Anna")
    expect(card.locator("[data-section=month] tr[data-user=Anna]")).to_be_visible()
    expect(card.locator("[data-section=sessions] tr[data-session] td").nth(1)).to_have_text(
        re.compile("^(Anna|Bo)$")
    )
    # Its cost so far, once the box has metered some energy (every 10 s).
    expect(card.locator("[data-section=month] tr[data-user=Anna] td").last).to_have_text(
        re.compile("SEK$"), timeout=60_000
    )


def test_dark_theme_swedish_and_a_phone(home_assistant: str, browser: Browser) -> None:
    page = _dashboard(browser, home_assistant, dark=True, locale="sv-SE", width=390, height=844)
    card = _session_shown(page, "Simulated wallbox")
    expect(card.locator("[data-fact=session_cost] .label")).to_have_text("Kostnad hittills")
    expect(card.locator("[data-section=plan] h3")).to_have_text("Plan")
    # Dark: the card's text is light on a dark card.
    color = card.locator(".title").evaluate("e => getComputedStyle(e).color")
    red, green, blue = (int(v) for v in re.findall(r"\d+", color)[:3])
    assert red + green + blue > 3 * 180, color
    # A phone: the card fits the screen, nothing scrolls sideways.
    width = card.evaluate("card => card.getBoundingClientRect().width")
    assert width <= 390
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(page, "card-dark-sv-phone")
    assert page.errors == []  # type: ignore[attr-defined]


LABEL_BOXES = """labels => labels.map(label => {
  const box = label.getBoundingClientRect();
  return {text: label.textContent, left: box.left, right: box.right, top: box.top,
    bottom: box.bottom};
})"""


@pytest.mark.parametrize(
    ("locale", "width"), [("en-GB", 1280), ("en-GB", 700), ("sv-SE", 390)], ids=str
)
def test_no_two_labels_of_the_plan_chart_overlap(
    home_assistant: str, browser: Browser, locale: str, width: int
) -> None:
    """The day names, the hours and the highest price's label stand apart, however wide the
    card (up to 2026-12-06 "Tomorrow" ran into the highest price in the top right corner
    whenever tomorrow's midnight lay in the last quarter of the chart, as in the demo).
    """
    page = _dashboard(browser, home_assistant, locale=locale, width=width, height=900)
    for title in ("Simulated wallbox", "Demo garage"):
        card = _session_shown(page, title)
        labels = card.locator("[data-section=plan] .chart span")
        expect(labels.first).to_be_visible()
        boxes = labels.evaluate_all(LABEL_BOXES)
        assert any(box["text"] in ("Tomorrow", "I morgon") for box in boxes), boxes
        for n, one in enumerate(boxes):
            for other in boxes[n + 1 :]:
                apart = (
                    one["right"] <= other["left"]
                    or other["right"] <= one["left"]
                    or one["bottom"] <= other["top"]
                    or other["bottom"] <= one["top"]
                )
                assert apart, (title, one, other)
    assert page.errors == []  # type: ignore[attr-defined]


LOVELACE_CARDS = """async () => (await document.querySelector("home-assistant").hass.callWS(
  {type: "lovelace/config"})).views[0].cards"""


# Last two: they change the dashboard the other tests look at.
def test_the_card_is_in_the_card_picker_and_added_without_yaml(
    home_assistant: str, browser: Browser
) -> None:
    page = _dashboard(browser, home_assistant, edit=True)
    expect(page.locator("ev-sessions-card").first).to_be_visible(timeout=60_000)
    before = page.evaluate(LOVELACE_CARDS)
    page.get_by_text("Add card", exact=True).click()
    picker = page.locator("hui-dialog-create-card")
    picker.get_by_text("By card", exact=True).click()
    picker.locator("input").fill("EV Sessions")
    # Its preview in the picker is the card itself, for the first wallbox.
    choice = picker.locator(".card", has=page.locator(".card-header", has_text="EV Sessions"))
    expect(choice.locator("ev-sessions-card .title")).to_have_text("Simulated wallbox")
    choice.click()
    editor = page.locator("hui-dialog-edit-card ev-sessions-card-editor")
    expect(editor.locator("select")).to_have_value(re.compile(".+"))
    first = editor.locator("select").input_value()
    page.locator("hui-dialog-edit-card").get_by_role("button", name="Save").click()
    expect(editor).to_have_count(0)
    after = page.evaluate(LOVELACE_CARDS)
    assert after == [*before, {"type": "custom:ev-sessions-card", "entry_id": first}]
    expect(page.locator("ev-sessions-card")).to_have_count(len(after))
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_editor_picks_a_wallbox_and_saves_the_card(
    home_assistant: str, browser: Browser
) -> None:
    page = _dashboard(browser, home_assistant, edit=True)
    expect(page.locator("ev-sessions-card").first).to_be_visible(timeout=60_000)
    page.locator("hui-card-options").first.get_by_text("Edit", exact=True).click()
    editor = page.locator("ev-sessions-card-editor")
    expect(editor.locator("select option")).to_have_count(2)
    garage = editor.locator("select option", has_text="Demo garage").get_attribute("value")
    editor.locator("select").select_option(label="Demo garage")
    editor.locator("input[name=title]").fill("Carport")
    editor.locator("input[name=title]").press("Tab")
    editor.locator("input[name=sessions]").fill("3")
    editor.locator("input[name=sessions]").press("Tab")
    editor.locator("input[name=show_users]").uncheck()
    screenshot(page, "card-editor")
    page.locator("hui-dialog-edit-card").get_by_role("button", name="Save").click()
    expect(page.locator("hui-dialog-edit-card ev-sessions-card-editor")).to_have_count(0)

    saved = page.evaluate(LOVELACE_CARDS)[0]
    assert saved == {
        "type": "custom:ev-sessions-card",
        "entry_id": garage,
        "title": "Carport",
        "sessions": 3,
        "show_plan": True,
        "show_users": False,
    }
    card = _card(page, "Carport")
    expect(card).to_have_count(1)
    expect(card.locator("[data-section=month]")).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]
