# multinet-agent image: Node.js LTS on Debian bookworm (glibc, for the netlink package's prebuilt
# N-API binary). Runs as uid 0 with capabilities dropped to NET_ADMIN and SYS_PTRACE by the
# DaemonSet (see architecture.md); the root filesystem can be read-only: nothing is written.
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
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist/agent dist/agent
COPY --from=build /src/dist/collectors dist/collectors
COPY --from=build /src/dist/exporters dist/exporters
COPY --from=build /src/dist/lab dist/lab
# Loaded at run time by the PodResources and CRI clients (no code generation).
COPY collectors/podresources/api.proto collectors/podresources/api.proto
COPY collectors/cri/api.proto collectors/cri/api.proto
COPY lab/manifests lab/manifests
EXPOSE 9739
# --max-semi-space-size=4: see agent/bin.ts (RSS about 120 -> 93 MB, measured by npm run bench).
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/agent/bin.js"]
# hostPID gives the container the host's /proc; /sys and /run/netns come from read-only hostPath mounts.
CMD ["--path.sysfs=/host/sys", "--path.netns=/host/run/netns"]
