"""The cross-target benchmark behind ``talkies bench``: every model on every target and precision, side
by side, plus the end-to-end pipelines and their peers, in one run.

For each (model, target, precision) the bundle is looked up in the bundle folder (default
``$TALKIES_HOME/bundles``; the shipped lip-sync bundles too) and built with ``export_bundle`` when missing.
A build whose parity check fails is kept, apart, in ``<bundle dir>/.parity-failed/`` (never where the
runtime looks bundles up by name) and measured like the others: its row says "parity failed". A bundle of
the folder whose test vectors are not the ones its model gives now (new weights, a new reference) is
rebuilt; ``--rebuild failed|all`` exports the parity-failed ones, or all, again on request.

Each bundle × thread count is measured in a fresh child process (``python -m talkies.benchmarks.harness
--child JOB``), so the figures of one model never include another's memory or warm caches:

- load: creating the inference session from the bundle (model compile included);
- latency p50/p95 (wall) and CPU p50 (process time, all threads) per call after warm-up, cycling over the
  bundle's test vectors, which are the spec's real sample inputs; throughput = calls/s back to back;
- peak RSS: the child's own peak (VmHWM on Linux; ``ru_maxrss`` would carry the parent's peak over exec):
  interpreter + numpy + that backend + the model, and the model's share: that peak minus the child's RSS
  after importing the backend, before loading the model;
- parity: the test vectors replayed against the fp32 reference outputs they ship with, judged by the
  manifest's tolerance (the spec's task metrics included);
- task metric: face models on held-out real face crops against the fp32 reference (mean landmark px,
  blend-shape max abs error, detector box px); lip-sync bundles through the LipSync task on the real
  validation speech (``talkies.benchmarks.lipsync``, the same code path as its own benchmark).

Core ML rows off macOS give the size and the spec check and say "needs macOS"; a backend that is not
installed gives a "skipped" row with the reason. The pipeline rows (tracking frames/s, lip-sync real-time
factor and ms per streaming hop, ``animate`` real-time factor at 720p, kernels) and the peers (MediaPipe
FaceLandmarker and pylipsync in their own venvs, the loudness baseline, OpenCV/scikit-image) reuse the
scripts beside this package. Writes results.json, report.md, latency_vs_size.png, accuracy_vs_latency.png and
performance.md (the same tables as a README section).

The modules, in the order a run uses them: ``config`` (BenchConfig, the cases), ``bundles`` (find or
build each bundle), ``measure`` (the bundle rows) with ``child`` (the measuring process) and ``accuracy``
(parity and task metrics), ``pipelines`` (end-to-end cases and peers), ``results`` (results.json and its
schema), ``report`` (markdown), ``plots``, and ``run`` (``run_bench``, which ties them together).
``rows`` holds what they pass around.
"""
