# Credit-scoring service image: one process (FastAPI + Gradio, uvicorn) on $PORT.
# Runs as uid 1000 so the same image works on a Hugging Face Space (Docker SDK) and anywhere else.
#   docker build -t credit-scoring . && docker run --rm -p 7860:7860 credit-scoring

# ---- builder: install the pinned lock into a venv, then trim it --------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# binutils for `strip` and gcc for the model's compiled trees (this stage only); libgomp1 is the
# OpenMP runtime LightGBM links against. Debian package versions follow the base image's release, hence no pins.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils gcc libc6-dev libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# --no-deps on purpose: requirements-image.txt is the complete runtime lock (see its header).
COPY requirements-image.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --no-compile -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall -y -q pip setuptools

# Trim what the service never loads: test suites, C headers and Cython sources, notebook
# extensions; nannyml's and statsmodels' sample datasets (load_*), the MLflow tracking-UI bundle
# (`mlflow ui`), Gradio's Node SSR server (no Node here, GRADIO_SSR_MODE=false) and pyarrow's
# Flight RPC module and its libraries (pyarrow.flight: 25 MB); Gradio's in-browser ffmpeg (32 MB of
# WebAssembly for trimming audio and video), its Bokeh bundle and its demo media: the UI has no audio,
# video or Bokeh component; type stubs (.pyi) except Gradio's, which its component classes read.
# The warm-up and import check at the end of this stage fail the build if a trim went too far.
RUN set -eu; \
    sp=/opt/venv/lib/python3.11/site-packages; \
    for pkg in pandas numpy scipy sklearn pyarrow statsmodels matplotlib seaborn plotly \
               lightgbm xgboost nannyml category_encoders patsy formulaic skops mlflow \
               gradio gradio_client fontTools PIL kiwisolver contourpy; do \
        if [ -d "$sp/$pkg" ]; then find "$sp/$pkg" -depth -type d -name tests -exec rm -rf {} +; fi; \
    done; \
    rm -rf "$sp/pyarrow/include" "$sp/pyarrow/src" "$sp/numpy/_core/include" \
           /opt/venv/share/jupyter "$sp/jupyterlab_plotly" \
           "$sp/mlflow/server/js/build" "$sp/gradio/templates/node"; \
    find "$sp/nannyml/datasets/data" -type f ! -name '__init__.py' -delete; \
    find "$sp/statsmodels/datasets" -type f ! -name '*.py' -delete; \
    rm -f "$sp"/pyarrow/*flight* "$sp"/pyarrow/_pyarrow_cpp_tests*; \
    rm -rf "$sp/gradio/templates/frontend/static/ffmpeg" "$sp/gradio/templates/frontend/static/bokeh" \
           "$sp/gradio/media_assets"; \
    find "$sp" -name '*.pyi' -not -path "$sp/gradio/*" -delete; \
    if ldd "$sp"/pyarrow/*.so* | grep 'not found'; then echo "a pyarrow library lost a dependency" >&2; exit 1; fi; \
    find "$sp" \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.c' -o -name '*.cpp' \
                  -o -name '*.h' \) -type f -delete; \
    find /opt/venv -depth -type d -name __pycache__ -exec rm -rf {} +

# Strip shared libraries, except the copies auditwheel vendored into *.libs/: patchelf rewrote
# those, and strip turns them into "ELF load command address/offset not page-aligned". Identical
# libraries in one folder (wheels cannot hold symlinks: pyarrow ships libarrow_python.so three times)
# become symlinks to one copy.
# ldd maps every library before and after; a file it could load before must still load after.
RUN set -eu; \
    sp=/opt/venv/lib/python3.11/site-packages; \
    unloadable() { find "$sp" \( -type f -o -type l \) -name '*.so*' | sort | while read -r f; do \
        ldd "$f" >/dev/null 2>&1 || echo "$f"; done; }; \
    unloadable > /tmp/unloadable.before; \
    find "$sp" -type f \( -name '*.so' -o -name '*.so.*' \) -not -path '*.libs/*' \
        -exec strip --strip-unneeded {} +; \
    find "$sp" -type f -name '*.so*' -size +100k -exec sha256sum {} + | sort \
      | awk '{ d = $2; sub(/\/[^\/]*$/, "", d) } $1 == h && d == pd { print p, $2; next } { h = $1; p = $2; pd = d }' \
      | while read -r keep copy; do ln -sf "$(basename "$keep")" "$copy"; done; \
    unloadable > /tmp/unloadable.after; \
    diff /tmp/unloadable.before /tmp/unloadable.after; \
    rm /tmp/unloadable.*

# Byte-compile, once, only what the service imports: the runtime user cannot write into /opt/venv, so
# a module without a .pyc is recompiled on every start, and compiling all ~24,000 library modules
# would add ~200 MB for modules never loaded. scripts/warm_imports.py builds the app, scores, runs the
# drift analysis and lists what got imported (a module it missed still works, compiled in memory).
# First the committed model's trees are compiled to C (BATCH_RUNTIME, scoring/compiled.py): the runtime
# image has no compiler, and finds this library in its MODEL_CACHE_DIR/compiled at startup.
COPY . /tmp/app
WORKDIR /tmp/app
RUN /opt/venv/bin/python -m scoring.compile_model model /opt/models/compiled \
 && NML_DISABLE_USAGE_LOGGING=1 MODEL_CACHE_DIR=/opt/models MPLCONFIGDIR=/tmp/mpl /opt/venv/bin/python scripts/warm_imports.py /tmp/imported.txt \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash -i /tmp/imported.txt \
 && NML_DISABLE_USAGE_LOGGING=1 MPLCONFIGDIR=/tmp/mpl /opt/venv/bin/python -c \
    "import nannyml, mlflow.lightgbm, lightgbm, gradio, plotly, pandas, pyarrow.parquet, pyarrow.json, sklearn, scipy, statsmodels, fastapi, uvicorn, uvloop, httptools, huggingface_hub, gradio_client, xgboost, tl2cgen, treelite" \
 && rm -rf /tmp/app /tmp/imported.txt /tmp/mpl

# ---- runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim

# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --create-home --uid 1000 --shell /usr/sbin/nologin user

ENV HOME=/home/user \
    PATH=/opt/venv/bin:$PATH \
    PORT=7860 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NML_DISABLE_USAGE_LOGGING=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    GRADIO_SSR_MODE=false \
    HF_HUB_DISABLE_TELEMETRY=1 \
    MPLCONFIGDIR=/tmp/matplotlib

COPY --from=builder /opt/venv /opt/venv

WORKDIR /home/user/app
# Code and model stay root-owned (read-only for the service); only data/ is the service's to write.
COPY . .
# the committed model's compiled trees, where MODEL_CACHE_DIR (data/models) looks for them
COPY --from=builder /opt/models/compiled /home/user/app/data/models/compiled
RUN python -m compileall -q --invalidation-mode unchecked-hash /home/user/app \
 && install -d -o user -g user /home/user/app/data /home/user/app/data/predictions \
 && chown -R user:user /home/user/app/data/models \
 && chown user:user /home/user/app

USER 1000
EXPOSE 7860

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '7860') + '/healthz', timeout=4)"]

CMD ["python", "app.py"]
