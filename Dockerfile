# Builds every Tandem binary once; each service image runs one of them.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
      --bin tandem --bin connector-salesforce --bin connector-monday \
      --bin mapping-config --bin sync-orchestrator --bin run-history --bin console \
      --bin salesforce-sim --bin monday-sim

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 tandem \
    && mkdir /certs /state && chown tandem /certs /state
COPY --from=build /src/target/release/tandem /src/target/release/connector-salesforce \
     /src/target/release/connector-monday /src/target/release/mapping-config \
     /src/target/release/sync-orchestrator /src/target/release/run-history \
     /src/target/release/console \
     /src/target/release/salesforce-sim /src/target/release/monday-sim /usr/local/bin/
USER tandem
ENV TANDEM_LOG_FORMAT=json
