"""talkies studio: a local web app (Gradio) over the same Python API the CLI uses.

    talkies studio                 # 127.0.0.1, a free port, opens the browser
    python -c "from talkies.studio import launch; launch(port=7860)"

Gradio is imported only when the studio starts (``pip install 'talkies[studio]'``); ``import talkies``
never loads it.
"""

from __future__ import annotations


def launch(**kwargs):
    """Start the studio (see :func:`talkies.studio.app.launch`)."""
    from talkies.studio.app import launch as _launch

    return _launch(**kwargs)


__all__ = ["launch"]
