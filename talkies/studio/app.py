"""The studio's page: one tab per task, each a thin layer over the Python API (the calls the CLI makes),
served by Gradio on 127.0.0.1 with everything it needs bundled (no CDN, no analytics, no SSR node)."""

from __future__ import annotations

import os
import socket
import sys

# Before gradio is imported: no usage analytics, no update check, nothing fetched from the network.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

from talkies import __version__  # noqa: E402
from talkies.studio import bundles_tab, common, curves_tab, dub_tab, jobs, photo_tab, track_tab  # noqa: E402

TITLE = "talkies studio"
#: The heavy jobs (renders, dubs, tracking, exports, benchmarks) run one at a time, in arrival order,
#: whichever tab or browser they come from.
HEAVY = {"concurrency_id": "heavy", "concurrency_limit": 1}
TABS = (("Talking photo", photo_tab), ("Dub a video", dub_tab), ("Lip-sync curves", curves_tab),
        ("Track a face", track_tab), ("Bundles", bundles_tab))
CSS = ".talkies-note {opacity: 0.8; font-size: 0.9em}"


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only (nothing fetched from Google Fonts)."""
    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def build_app() -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"### talkies studio <span class='talkies-note'>{__version__} · runs on this computer; "
                    "every video carries a 'synthesised by talkies' tag</span>")
        for label, module in TABS:
            with gr.Tab(label, id=module.__name__.rsplit(".", 1)[1].removesuffix("_tab")):
                module.build(HEAVY)
    app.queue(default_concurrency_limit=1)
    return app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def launch(*, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = True,
           block: bool = True) -> tuple[gr.Blocks, str]:
    """Start the studio; returns (app, url). With `block`, serves until Ctrl-C, then cleans its files."""
    hosted = host not in ("127.0.0.1", "localhost", "::1")
    common.set_hosted(hosted)
    app = build_app()
    port = port or free_port("0.0.0.0" if hosted else host)
    app.launch(server_name=host, server_port=port, inbrowser=open_browser, prevent_thread_lock=True,
               show_error=False, quiet=True, ssr_mode=False, pwa=False, mcp_server=False, share=False,
               footer_links=[], theme=theme(), css=CSS,
               max_file_size=f"{common.HOSTED_MAX_UPLOAD_MB}mb" if hosted else None)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    if block:
        serve_forever(app)
    return app, url


def serve_forever(app: gr.Blocks) -> None:
    import threading

    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("talkies studio: stopping", file=sys.stderr)
    finally:
        app.close()
        jobs.cleanup()


__all__ = ["HEAVY", "TABS", "build_app", "free_port", "launch", "theme"]
