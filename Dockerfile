# multinet-agent image. Built and run in CI by test/integration/image.test.ts (Debian's docker.io,
# against local stand-ins of the two base images: no registry is reachable there), this file
# unmodified, and run as the chart's DaemonSet runs it against the test lab.
# test/integration/production-install.test.ts checks the same packing without an engine: npm pack
# (exactly package.json's "files"), the production dependencies alone beside it, the agent scraped.

# Build: compile TypeScript with the dev dependencies, pack what ships (package.json "files":
# dist/agent, dist/collectors, dist/exporters and the two .proto files read at run time; not the
# lab, not the tests), and install the runtime dependencies alone beside it. --ignore-scripts:
# nothing needs an install script (the netlink package's prebuilt N-API binary,
# prebuilds/linux-x64, is found at load time by node-gyp-build), and `prepare` would build again.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY agent agent
COPY collectors collectors
COPY exporters exporters
# Only what ships is compiled (tsconfig.build.json's other folders, lab/ and the bench, are absent here).
RUN npx tsc -p tsconfig.build.json
# npm pack leaves package-lock.json out of the tarball; npm ci needs it beside package.json.
RUN npm pack --ignore-scripts --pack-destination /tmp --silent
WORKDIR /app
RUN tar -xzf /tmp/multinet-agent-*.tgz --strip-components=1 -C /app \
 && cp /src/package-lock.json /app/ \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json
RUN test ! -e dist/lab && test ! -e node_modules/@grpc

# Run: distroless Node.js 24 on Debian 12 — glibc, which the netlink prebuilt is built against
# (an Alpine/musl image would not load it) — with no shell and no package manager.
FROM gcr.io/distroless/nodejs24-debian12
# OCI annotations (image-spec annotations.md). VERSION is package.json's "version", which is the
# chart's appVersion and so the image tag; test/integration/image.test.ts checks they agree.
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="multinet-agent" \
      org.opencontainers.image.description="Per-node agent that sees the secondary networks (Multus macvlan/ipvlan/SR-IOV) of Kubernetes pods and exports them to Prometheus" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12"
ENV NODE_ENV=production
# The packed package and its production node_modules, nothing else.
COPY --from=build /app /app
WORKDIR /app
# uid 0, on purpose: the agent opens /proc/<pid>/ns/net of every pod's processes and dumps other
# network namespaces over rtnetlink. Its capabilities come from the pod spec (the chart drops ALL
# and adds only NET_ADMIN and SYS_PTRACE; no privileged, read-only root filesystem: nothing is
# written here).
USER 0
EXPOSE 9739
# --max-semi-space-size=4: V8's young generation capped (RSS about 123 -> 93 MB on Node 20, npm run
# bench; on this image's Node 24 the four V8 flags together hold 250 realistic pods at about 117 MB
# instead of 142, docs/performance.md);
# --max-old-space-size=128: the old generation bounded well under the chart's 256Mi (peaks of
# 243-286 MB RSS at 250 realistic pods without it); --v8-pool-size=1: one V8 background thread
# instead of Node's four (its GC helpers competed with the agent's thread for 2 cores);
# --no-memory-reducer: no compacting collections between scrapes to shrink a heap the next scrape
# grows again (most of the idle CPU; see agent/app/bin.ts). The chart passes the agent's own flags
# as args (--path.sysfs=/host/sys, ...).
# MALLOC_ARENA_MAX=2: glibc's malloc keeps 8 arenas per core by default, and memory touched by
# the threads that allocate (libuv's pool compressing /metrics, V8's GC helpers) stays in RSS; a
# realistic 1,000-cycle soak ran about 7 MB lower with 2 (docs/performance.md).
# MALLOC_MMAP_THRESHOLD_/TRIM_THRESHOLD_/TOP_PAD_: fixed instead of glibc's moving thresholds, so
# a scrape's multi-megabyte buffers are mappings of their own, returned when freed, and the heap's
# free top is given back (250 realistic pods: RSS about 96 -> 87 MB; test/bench/exporters.ts).
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_MMAP_THRESHOLD_=131072
ENV MALLOC_TRIM_THRESHOLD_=131072
ENV MALLOC_TOP_PAD_=65536
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--max-old-space-size=128", "--v8-pool-size=1", "--no-memory-reducer", "dist/agent/app/bin.js"]
