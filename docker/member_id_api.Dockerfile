# The member-ID estimation API on its own (uvicorn). Build from the repository root:
#   docker build -f docker/member_id_api.Dockerfile -t trackscope-member-id-api .
# Mount the lake and GeoIP files and point the settings at them, e.g.
#   -e TRACKSCOPE_LAKE_URI=file:///data/lake -e TRACKSCOPE_MID_CITY_MMDB=/data/geo/City.mmdb
#   -e TRACKSCOPE_MID_ISP_MMDB=/data/geo/ISP.mmdb -e TRACKSCOPE_MID_API_DB_URL=postgresql+psycopg2://...
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY transforms/ transforms/
ENV PYTHONPATH=/app GX_ANALYTICS_ENABLED=False
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["uvicorn", "transforms.member_id.api.app:create_app_from_settings", "--factory", "--host", "0.0.0.0", "--port", "8000"]
