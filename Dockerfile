FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH"
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --compile-bytecode
COPY . .
# With DEBUG off, as the container runs: the hashed names and their manifest (staticfiles.json) that
# WhiteNoise's CompressedManifestStaticFilesStorage needs; without it every page fails. Dummy secret:
# nothing is signed while collecting.
RUN DEBUG=false SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost python manage.py collectstatic --no-input
EXPOSE 8000
