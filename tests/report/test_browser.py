"""The report in a real browser: system Chromium, offline. Headless ``--dump-dom`` for the DOM
it builds, and Chromium driven through chromedriver (selenium) to use the explorer as a person
would: type a query, click an entry, read what appears, sort, and take a screenshot."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metacurate.report import write_report
from tests.conftest import require_system
from tests.reference import reference_match
from tests.report.test_report import check_page

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # any fetch would fail: the page must not need one
]


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_in_headless_chromium(run_dir, tmp_path):
    exe = _chromium()
    require_system("chromium (apt-get install chromium)", exe is not None)
    page = write_report(run_dir)
    dumped = _run(exe, tmp_path / "profile", "--dump-dom", page.resolve().as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    dom = check_page(dumped.stdout, manifest)
    assert "entry-table" in dom.ids and "entry-detail" in dom.ids
    assert "showing 200 of all entries" in dumped.stdout  # the script ran and filled the table


@pytest.fixture
def browser(tmp_path):
    """Chromium driven by Debian's chromedriver, no network, a laptop-sized window."""
    exe, driver = _chromium(), shutil.which("chromedriver")
    require_system(
        "chromium and chromedriver (apt-get install chromium chromium-driver)",
        exe is not None and driver is not None,
    )
    require_system(
        "selenium (pip install 'metacurate[test]')",
        importlib.util.find_spec("selenium") is not None,
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = exe
    for flag in [f for f in CHROMIUM_FLAGS if f != "--headless"]:
        options.add_argument(flag)
    options.add_argument("--headless=new")
    options.add_argument("--window-size=1366,900")
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(driver, log_output=str(tmp_path / "chromedriver.log"))
    drv = webdriver.Chrome(service=service, options=options)
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


def _text_column(table) -> str:
    return next(c for c in ("TEXT", "text", "caption") if c in table.column_names)


def _entry_with_dropped_rows(run_dir: Path) -> dict:
    """The word entry whose balancing dropped the most rows (head, count > after)."""
    t = json.loads((run_dir / "manifest.json").read_text())["t"]
    rows = pq.read_table(run_dir / "curated_entry_counts.parquet").to_pylist()
    cands = [r for r in rows if r["count"] >= t and r["entry"].isalpha() and len(r["entry"]) > 2]
    return max(cands, key=lambda r: (r["count"] - r["count_curated"], -r["entry_id"]))


def _facts(detail) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    dts = detail.find_elements(By.CSS_SELECTOR, "dl.facts dt")
    dds = detail.find_elements(By.CSS_SELECTOR, "dl.facts dd")
    return {a.text: b.text for a, b in zip(dts, dds, strict=True)}


def test_explorer_search_click_and_captions(run_dir, tmp_path, browser):
    from selenium.webdriver.common.by import By

    page = write_report(run_dir)
    target = _entry_with_dropped_rows(run_dir)
    entry = target["entry"]
    curated_files = sorted((run_dir / "curated").glob("*.parquet"))
    curated = pq.read_table(curated_files[0])
    col = _text_column(curated)
    curated_texts = Counter(curated.column(col).to_pylist())
    pool_file = json.loads((run_dir / "stats.json").read_text())["inputs"][0]["path"]
    pool_texts = Counter(pq.read_table(pool_file).column(col).to_pylist())

    browser.get(page.resolve().as_uri())
    box = browser.find_element(By.ID, "entry-search")
    query = entry[:3].lower()
    box.send_keys(query)
    status = browser.find_element(By.ID, "entry-status").text
    assert f"containing “{query}”" in status
    rows = browser.find_elements(By.CSS_SELECTOR, "#entry-table tbody tr")
    names = [r.find_element(By.CSS_SELECTOR, "td").text for r in rows]
    assert names and all(query in n.lower() for n in names)
    assert entry in names
    rows[names.index(entry)].click()

    detail = browser.find_element(By.ID, "entry-detail")
    assert detail.find_element(By.CSS_SELECTOR, ".entry-name").text == entry
    facts = _facts(detail)
    assert facts["entry_id"] == str(target["entry_id"])
    assert facts["count (pool)"] == f"{target['count']:,}"
    assert facts["count after balancing"] == f"{target['count_curated']:,}"
    assert float(facts["p_e"]) == pytest.approx(target["p"], rel=1e-3)
    assert facts["kind"].startswith("head")

    shown = {}
    for side in ("kept", "dropped"):
        items = detail.find_elements(By.CSS_SELECTOR, f".side-{side} li")
        assert items, f"no {side} caption shown for {entry!r}"
        shown[side] = []
        for li in items:
            assert li.find_element(By.CSS_SELECTOR, "mark").text == entry
            assert li.find_element(By.CSS_SELECTOR, f"span.{side}").text == side
            text = li.find_element(By.CSS_SELECTOR, ".cap").text
            if not text.endswith("…"):  # a whole caption: the naive loop matches the entry
                assert reference_match([entry], text) == [0], text
                if side == "kept":
                    assert curated_texts[text] > 0, text
                else:  # some pool row with this caption was not curated
                    assert pool_texts[text] > curated_texts[text], text
            shown[side].append(text)

    shot = Path(os.environ.get("METACURATE_SCREENSHOT", tmp_path / "explorer.png"))
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("document.getElementById('explore').scrollIntoView()")
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_explorer_sorts_and_static_table_opens_entries(run_dir, browser):
    from selenium.webdriver.common.by import By

    browser.get(write_report(run_dir).resolve().as_uri())

    def counts() -> list[int]:
        cells = browser.find_elements(By.CSS_SELECTOR, "#entry-table tbody tr td:nth-child(3)")
        return [int(c.text.replace(",", "")) for c in cells]

    first = counts()
    assert len(first) == 200 and first == sorted(first, reverse=True)
    head = browser.find_element(By.CSS_SELECTOR, "#entry-table th[data-col='c']")
    head.click()  # count, descending
    head.click()  # ascending
    up = counts()
    assert up == sorted(up) and up[0] == 1
    assert head.get_attribute("aria-sort") == "ascending"

    box = browser.find_element(By.ID, "entry-search")
    box.send_keys("qqqqzzzz")
    assert browser.find_element(By.ID, "entry-status").text.startswith("showing 0 of 0")

    # the static "Largest entries" table: sortable, and a row opens the entry
    table = browser.find_element(By.CSS_SELECTOR, "#top-entries table")
    row = table.find_elements(By.CSS_SELECTOR, "tbody tr")[1]
    name = row.find_elements(By.CSS_SELECTOR, "td")[2].text
    browser.execute_script("arguments[0].click()", row)
    detail = browser.find_element(By.ID, "entry-detail")
    assert detail.find_element(By.CSS_SELECTOR, ".entry-name").text == name
    count_head = table.find_elements(By.CSS_SELECTOR, "thead th")[3]

    def column(k: int) -> list[int]:
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        return [int(r.find_elements(By.CSS_SELECTOR, "td")[k].text.replace(",", "")) for r in rows]

    count_head.click()  # descending: the rank order again (a stable sort keeps ties by rank)
    assert column(0) == list(range(1, len(column(0)) + 1))
    count_head.click()  # ascending
    assert column(3) == sorted(column(3)) and column(3) != sorted(column(3), reverse=True)


def _box(browser, css: str) -> dict:
    """The element's rectangle in the viewport (px), and the viewport's height."""
    return browser.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " height: r.height, width: r.width, vh: window.innerHeight};",
        css,
    )


def _show_explorer(browser) -> None:
    """Scroll the page so that the search box sits just below the sticky navigation bar."""
    browser.execute_script(
        "var box = document.getElementById('entry-search').getBoundingClientRect();"
        "var nav = document.querySelector('nav').offsetHeight;"
        "window.scrollBy(0, box.top - nav - 8);"
    )


def test_explorer_layout_follows_the_window_and_panel_starts_full(run_dir, browser):
    """The panel beside the entry table is never empty (the largest entry until a click), the
    table's scroll box grows and shrinks with the window's height instead of a fixed clip,
    the panel sits beside the table on a wide window and below it on a narrow one, and a
    click still shows the entry's kept and dropped captions (scrolled into view there)."""
    from selenium.webdriver.common.by import By

    rows = pq.read_table(run_dir / "curated_entry_counts.parquet").to_pylist()
    largest = min(rows, key=lambda r: (-r["count"], r["entry_id"]))
    browser.set_window_size(1400, 1000)
    page = write_report(run_dir)
    browser.get(page.resolve().as_uri())

    # before any click: the largest entry, with its captions and a line saying what to do
    detail = browser.find_element(By.ID, "entry-detail")
    assert detail.find_element(By.CSS_SELECTOR, ".entry-name").text == largest["entry"]
    assert _facts(detail)["entry_id"] == str(largest["entry_id"])
    assert detail.find_elements(By.CSS_SELECTOR, "ul.examples li .cap")
    assert "click" in detail.find_element(By.CSS_SELECTOR, ".explore-hint").text.lower()
    first = browser.find_element(By.CSS_SELECTOR, "#entry-table tbody tr")
    assert "selected" in first.get_attribute("class")
    assert browser.execute_script("return location.hash") == ""  # no click, no address change

    # wide: the panel is beside the table, and the table fills the window's height
    _show_explorer(browser)
    tall, panel = _box(browser, "#explore .scroll"), _box(browser, "#entry-detail")
    assert panel["left"] >= tall["right"] and panel["top"] < tall["top"]
    assert tall["height"] > 0.6 * tall["vh"]
    assert tall["bottom"] <= tall["vh"]  # search box, status line and table fit the window
    browser.set_window_size(1400, 700)
    _show_explorer(browser)
    short = _box(browser, "#explore .scroll")
    assert short["vh"] < tall["vh"] - 200
    assert tall["height"] - short["height"] > 0.6 * (tall["vh"] - short["vh"])
    assert short["bottom"] <= short["vh"]

    # narrow: the panel goes below the table, full width
    browser.set_window_size(800, 1000)
    _show_explorer(browser)
    table, panel = _box(browser, "#explore .scroll"), _box(browser, "#entry-detail")
    assert panel["top"] >= table["bottom"]
    assert abs(panel["left"] - table["left"]) < 2 and panel["width"] >= table["width"] - 2
    assert table["height"] > 0.4 * table["vh"]

    # a click shows that entry's kept and dropped captions, in view, and names it in the address
    target = _entry_with_dropped_rows(run_dir)
    browser.find_element(By.ID, "entry-search").send_keys(target["entry"])
    row = browser.find_element(
        By.CSS_SELECTOR, f"#entry-table tbody tr[data-entry-id='{target['entry_id']}']"
    )
    row.click()
    detail = browser.find_element(By.ID, "entry-detail")
    assert detail.find_element(By.CSS_SELECTOR, ".entry-name").text == target["entry"]
    assert not detail.find_elements(By.CSS_SELECTOR, ".explore-hint")
    for side in ("kept", "dropped"):
        items = detail.find_elements(By.CSS_SELECTOR, f".side-{side} li")
        assert items and all(li.find_element(By.CSS_SELECTOR, "mark").text for li in items)
    panel = _box(browser, "#entry-detail")
    assert 0 <= panel["top"] < panel["vh"] - 100
    assert browser.execute_script("return location.hash") == f"#entry={target['entry_id']}"

    # a phone: no section makes the page wider than the window (wide tables scroll in place)
    browser.set_window_size(420, 860)
    _show_explorer(browser)
    page_width, window_width = browser.execute_script(
        "var d = document.documentElement; return [d.scrollWidth, d.clientWidth];"
    )
    assert page_width <= window_width
    assert _box(browser, "#entry-detail")["right"] <= window_width
    assert _box(browser, "#entry-search")["right"] <= window_width

    # an address naming an entry opens that one, without the hint
    browser.get("about:blank")
    browser.get(f"{page.resolve().as_uri()}#entry={target['entry_id']}")
    detail = browser.find_element(By.ID, "entry-detail")
    assert detail.find_element(By.CSS_SELECTOR, ".entry-name").text == target["entry"]
    assert not detail.find_elements(By.CSS_SELECTOR, ".explore-hint")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
