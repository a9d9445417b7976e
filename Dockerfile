# One image for every role of a load in a cluster: mock-telegram, the bundled bot-under-test, and tgload (a shard,
# `tgload run --shard I/N`, or `tgload merge`). deploy/kubernetes runs it; docs/scale-out.md builds and pushes it.
# Every shard and the merge must run the same image: `tgload merge` refuses shards of different builds.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the build between image builds (BuildKit); the binaries are copied
# out of the cached target/ in the same step, since a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p harness -p bot-under-test -p mock-telegram \
    && mkdir /out \
    && cp target/release/tgload target/release/mock-telegram target/release/bot-under-test /out/

# Bookworm, as the builder: the binaries link against its glibc.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/tgload /out/mock-telegram /out/bot-under-test /usr/local/bin/
COPY scenarios /scenarios
# A numeric user, so that Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/tgload tgload
USER 10001:10001
WORKDIR /home/tgload
CMD ["tgload", "--help"]
