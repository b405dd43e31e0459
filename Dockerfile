# syntax=docker/dockerfile:1
# Image of the Alibaba Cloud provider for the Secrets Store CSI Driver: the host binary plus the built-in wasm
# transform plugins (jmespath, format, template), checked and precompiled at build time.
#
#   docker build -t csi-provider-alibabacloud:dev .
#
# Runtime base: distroless/cc (Debian 12). The binary needs glibc and libgcc_s (wasmtime unwinds through it) and the
# CA bundle for HTTPS to KMS, OOS and STS; distroless/cc has exactly that and no shell or package manager, which
# leaves little to exploit in a pod that holds cloud credentials. The builder is Debian 12 too, so glibc matches.
# The image's default user is nonroot (65532); the Helm chart runs it as uid 0 without capabilities only because the
# driver's socket directory is a root-owned hostPath (see the chart README, "Security").

ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked -p csi-provider-alibabacloud \
 && cargo build --release --locked --target wasm32-wasip2 -p plugin-jmespath -p plugin-format -p plugin-template

# Lay out the runtime filesystem under /out. `plugin check` fails the build for a plugin that does not load (instead
# of a mount in production); `plugin precompile` then fills the cache (directories given by the env names the
# DaemonSet uses too).
ENV PLUGIN_DIRS=/out/usr/lib/csi-provider-alibabacloud/plugins \
    PLUGIN_CACHE_DIR=/out/var/cache/csi-provider-alibabacloud
RUN install -D -m 0755 target/release/csi-provider-alibabacloud /out/usr/local/bin/csi-provider-alibabacloud \
 && for n in jmespath format template; do \
      install -D -m 0644 "target/wasm32-wasip2/release/plugin_${n}.wasm" "${PLUGIN_DIRS}/${n}.wasm" \
      && /out/usr/local/bin/csi-provider-alibabacloud plugin check "${PLUGIN_DIRS}/${n}.wasm" || exit 1; \
    done \
 && mkdir -p "${PLUGIN_CACHE_DIR}" \
 && /out/usr/local/bin/csi-provider-alibabacloud plugin precompile

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/usr/ /usr/
# Writable by the default user for plain `docker run`; the chart mounts an emptyDir here (read-only root fs).
COPY --from=builder --chown=65532:65532 /out/var/cache/csi-provider-alibabacloud /var/cache/csi-provider-alibabacloud
USER 65532:65532
# 8989 health (/healthz), 8990 Prometheus metrics (/metrics).
EXPOSE 8989 8990
ENTRYPOINT ["/usr/local/bin/csi-provider-alibabacloud"]
CMD ["serve"]
