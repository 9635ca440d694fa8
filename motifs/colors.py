"""The text colour that reads on a motif's colour: the agendas draw each RDV on its motif's
colour, so the words on it must keep the contrast WCAG AA asks for."""

from functools import lru_cache

# Pure black and white: for any background one of them reaches 4.58:1 at least (WCAG AA).
DARK_TEXT = "#000000"
LIGHT_TEXT = "#ffffff"


def _luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@lru_cache(maxsize=512)
def text_color_for(background: str) -> str:
    """Near-black or white, whichever reads better on the motif's colour (WCAG contrast)."""
    try:
        dark = contrast_ratio(background, DARK_TEXT)
        light = contrast_ratio(background, LIGHT_TEXT)
    except (ValueError, IndexError):
        return DARK_TEXT
    return DARK_TEXT if dark >= light else LIGHT_TEXT
