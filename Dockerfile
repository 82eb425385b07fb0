# multinet-agent image. No Docker engine was available where this was written: it has not been
# built. What it relies on is tested instead: test/integration/production-install.test.ts installs
# the production dependencies alone (npm ci --omit=dev --ignore-scripts) into a fresh copy of the
# built tree and scrapes the agent started from it.

# Build: compile TypeScript with the dev dependencies, then install the runtime dependencies
# alone into a clean tree. --ignore-scripts: nothing needs an install script (the netlink
# package's prebuilt N-API binary, prebuilds/linux-x64, is found at load time by node-gyp-build).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY agent agent
COPY collectors collectors
COPY exporters exporters
COPY lab lab
COPY test/bench test/bench
RUN npx tsc -p tsconfig.build.json
WORKDIR /prod
RUN cp /src/package.json /src/package-lock.json ./ \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Run: distroless Node.js 24 on Debian 12 — glibc, which the netlink prebuilt is built against
# (an Alpine/musl image would not load it) — with no shell and no package manager.
FROM gcr.io/distroless/nodejs24-debian12
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /prod/node_modules node_modules
COPY --from=build /src/dist/agent dist/agent
COPY --from=build /src/dist/collectors dist/collectors
COPY --from=build /src/dist/exporters dist/exporters
# The agent imports the lab's command (multinet-agent lab); the lab itself needs the CNI plugins
# and iproute2, which this image does not have.
COPY --from=build /src/dist/lab dist/lab
# Read at run time by the PodResources and CRI clients (dist/collectors/<name>/../../../collectors/...).
COPY collectors/podresources/api.proto collectors/podresources/api.proto
COPY collectors/cri/api.proto collectors/cri/api.proto
# uid 0, on purpose: the agent opens /proc/<pid>/ns/net of every pod's processes and dumps other
# network namespaces over rtnetlink. Its capabilities come from the pod spec (the chart drops ALL
# and adds only NET_ADMIN and SYS_PTRACE; no privileged, read-only root filesystem: nothing is
# written here).
USER 0
EXPOSE 9739
# --max-semi-space-size=4: V8's young generation capped (RSS about 123 -> 93 MB, npm run bench;
# see agent/app/bin.ts). The chart passes the flags as args (--path.sysfs=/host/sys, ...).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "dist/agent/app/bin.js"]
