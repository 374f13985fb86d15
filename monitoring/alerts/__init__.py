"""Alerts: one model and one severity vocabulary (critical/warning/info) for operational and drift alerts.

Operational detection over the prediction log (latency, inference time, errors, traffic, storage):

Every detector is a pure function of the log frames, `now` and `AlertRules`; nothing here keeps state,
so the Monitoring tab, the report and the /metrics refresher can all call `detect_operational` and get
the same answer. The statistics are deliberately plain, so an alert explains itself:

- the *current window* is [now - rules.window, now);
- its *baseline* is the same statistic over comparable earlier windows: the `baseline_windows` windows
  of the same length just before it (latency, errors), or the same clock hours of earlier days of the
  same kind, open or closed (traffic);
- "far from normal" = at least `far_ratio` (or `error_ratio`, `traffic_ratio`) times the baseline median
  AND a robust z-score of at least `far_z`, where z = (x - median) / (1.4826 * MAD). The scale has a
  floor (10 % of the median, and a unit floor) so a perfectly regular history does not turn a
  1 ms wobble into an incident.

Batch channels (rest_batch, gradio_batch) are left out of latency and inference judgements: a batch
row's `latency_ms` is the time since the *batch* started, so it grows with the row's index and says
nothing about one request; its `inference_ms` is a share of a vectorised call. Batches still count
in error rates (one rejected row is one rejected application) and as one request each in traffic.
"""
