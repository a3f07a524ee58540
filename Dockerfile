# syntax=docker/dockerfile:1
#
# FILLSTACK, one hub per container. Three stages:
#   spa  - builds the dashboard (frontend/dist) with npm
#   hub  - builds the release binary, which embeds frontend/dist (src/http/spa.rs)
#   the runtime image - distroless (glibc, no shell, no package manager), the
#          binary alone, as the fixed non-root user 65532
#
#   docker build -t fillstack .
#   docker run -p 8080:8080 -v fillstack-data:/data \
#       -e FILLSTACK_JWT_SECRET="$(head -c 48 /dev/urandom | base64)" fillstack
#
# Without auth (FILLSTACK_JWT_SECRET, or --jwt-secret-file / --jwt-public-key-file
# / --jwks-file) the hub refuses to listen on 0.0.0.0 and exits 2: the image never
# starts open. /metrics, /healthz and /readyz are on the internal port (9090) only.

FROM node:22-bookworm-slim AS spa
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
# The SPA imports the frame types from protocol/ts (the `@protocol` alias).
COPY protocol/ts /src/protocol/ts
COPY frontend/ ./
RUN npm run build

FROM rust:1.95-slim-bookworm AS hub
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY protocol protocol
COPY loadtest loadtest
COPY src src
COPY --from=spa /src/frontend/dist frontend/dist
# The registry and target caches make a rebuild after a source change take
# seconds of download and only the changed crates' compile time.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package fillstack --bin fillstack \
    && mkdir -p /out/data \
    && cp target/release/fillstack /out/fillstack

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=hub /out/fillstack /usr/local/bin/fillstack
# /data must exist and belong to the hub's user: a named volume starts as a copy of it.
COPY --from=hub --chown=65532:65532 /out/data /data
USER 65532:65532
ENV FILLSTACK_LISTEN=0.0.0.0:8080 \
    FILLSTACK_INTERNAL_LISTEN=0.0.0.0:9090 \
    FILLSTACK_DATA=/data \
    FILLSTACK_LOG_FORMAT=json
VOLUME ["/data"]
# 8080: SPA, /ws, REST. 9090: /metrics, /healthz, /readyz for probes and scrapers.
EXPOSE 8080 9090
# `fillstack healthcheck` GETs /healthz on FILLSTACK_INTERNAL_LISTEN with the
# HTTP client the hub already has: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/fillstack", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/fillstack"]
CMD ["serve"]
