"""A person at a browser who uses the keyboard only, and the checks made on every page they see.

Every control is reached with Tab from wherever the focus is (the page's start after a navigation) and
used with the keys a keyboard user presses: Enter on links and buttons, Space on checkboxes and file
pickers, typing into fields, arrow keys in drop-downs. If Tab never reaches a control, the test fails:
that control is out of a keyboard user's reach. On every page it also runs axe-core (through
axe-playwright-python) and counts serious and critical violations, and at a narrow width it reports a
page that is wider than the screen (which the phone would shrink or cut).
"""
from axe_playwright_python.sync_playwright import Axe

MAX_TABS = 600  # more than any page of ours has focusable controls: Tab has gone round once
BLOCKING_IMPACTS = ("serious", "critical")
_AXE = Axe()


class KeyboardUser:
    def __init__(self, page, problems, label):
        self.page, self.problems, self.label = page, problems, label
        self.checked = set()

    # ------------------------------------------------------------------------------------------ reach

    def focus(self, locator):
        """Press Tab until the control has the focus."""
        locator.wait_for(state="attached")
        handle = locator.element_handle()
        if handle.evaluate("el => el === document.activeElement"):
            return handle
        for _ in range(MAX_TABS):
            self.page.keyboard.press("Tab")
            if handle.evaluate("el => el === document.activeElement || el.contains(document.activeElement)"):
                return handle
        html = handle.evaluate("el => el.outerHTML.slice(0, 200)")
        raise AssertionError(f"{self.label}: Tab never reaches {html} on {self.page.url}")

    def press(self, locator, key="Enter"):
        self.focus(locator)
        self.page.keyboard.press(key)

    def type(self, locator, text):
        """Tab into a field, select what is in it and type over it."""
        self.focus(locator)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)  # an IME's commit: CJK text arrives whole, as it does for a user

    def choose(self, locator, *, value=None, label=None):
        """Move through a closed drop-down's options with the arrow keys until the wanted one is chosen."""
        handle = self.focus(locator)
        options = handle.evaluate("el => [...el.options].map(o => [o.value, o.label.trim()])")
        wanted = next(i for i, (v, t) in enumerate(options) if (value is not None and v == value)
                      or (label is not None and t == label))
        current = handle.evaluate("el => el.selectedIndex")
        key = "ArrowDown" if wanted > current else "ArrowUp"
        for _ in range(abs(wanted - current)):
            self.page.keyboard.press(key)
        got = handle.evaluate("el => el.selectedIndex")
        assert got == wanted, f"{self.label}: the arrow keys chose option {got}, not {wanted}"

    def tick(self, locator):
        self.focus(locator)
        if not locator.is_checked():
            self.page.keyboard.press("Space")
        assert locator.is_checked()

    def pick_file(self, locator, path):
        """Open the file picker from the keyboard (Space on the focused input) and choose the file."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.focus(locator)
        for key in ("Space", "Enter", "Space", "Enter"):  # Chromium opens a file input with either key
            try:
                with self.page.expect_file_chooser(timeout=5000) as chooser:
                    self.page.keyboard.press(key)
            except PlaywrightTimeout:
                self.focus(locator)
                continue
            chooser.value.set_files(str(path))
            return
        raise AssertionError(f"{self.label}: the file picker did not open from the keyboard on {self.page.url}")

    # ----------------------------------------------------------------------------------------- checks

    def check_page(self, name):
        """axe-core on the page as it is now; the page's width against the screen's. A message that is still
        fading in (the snackbar's opening transition) would be measured half-transparent: wait for it."""
        self.page.wait_for_function(
            "() => !document.querySelector('.mdc-snackbar--opening')"
            " && document.getAnimations().every(a => a.playState !== 'running'"
            " || !a.effect || a.effect.getComputedTiming().endTime === Infinity)", timeout=10_000)
        results = _AXE.run(self.page)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING_IMPACTS:
                targets = [", ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
                self.problems.append(f"{self.label} {name} ({self.page.url}): axe {violation['impact']} "
                                     f"{violation['id']}: {violation['help']} at {targets}")
        width = self.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1] + 1:
            wide = self.page.evaluate("""() => [...document.querySelectorAll("body *")]
                .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
                              && !el.closest(".kx-scroll, .vf-page__menu"))
                .filter((el, _i, all) => !all.some(other => other !== el && el.contains(other)))
                .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")
                                       + " " + Math.round(el.getBoundingClientRect().right))""")
            self.problems.append(f"{self.label} {name} ({self.page.url}): the page is {width[0]} px wide "
                                 f"on a {width[1]} px screen, by {wide}")
