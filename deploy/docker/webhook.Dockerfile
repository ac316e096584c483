# syntax=docker/dockerfile:1
# ccnodes webhook image. Build from the repository root:
#   docker build -f deploy/docker/webhook.Dockerfile -t ghcr.io/ccnodes/ccnodes-webhook:0.1.0 .
# Every component runs the same `ccnodes` CLI, precompiled (`npm run build` → dist/ccnodes.js, our
# code and most dependencies bundled; no TypeScript loader at run time, which keeps each process about
# 35 MiB smaller); the image differs in the user it runs as and what it is allowed to do.
# Non-root (uid 65532), no capabilities; meets Pod Security "restricted".

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Toolchain only for native modules (better-sqlite3) when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json ./
COPY scripts ./scripts
COPY proto ./proto
COPY src ./src
# Build, then drop the build tools (esbuild, TypeScript, test libraries) and the sources: the image
# keeps package.json, production node_modules (native and external packages), dist/ and proto/.
RUN npm run build \
 && npm prune --omit=dev && npm cache clean --force \
 && rm -rf src scripts tsconfig.json

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /app /app
# This image is also the confidential-container launcher that the webhook's init container copies
# into pods (/nodejs and /app). Its `container run` file gets its V8 code cache here, written by
# this stage's Node binary, the one the pods run (a cache from another Node build is ignored): one
# simulated launch against in-process services. Without it every pod's launcher compiles that file
# afresh, 13-36 ms more per start on the bench machine (docs/confidential-containers.md).
USER 0
RUN ["/nodejs/bin/node", "/app/dist/ccnodes.js", "container", "warm-cache"]
USER 65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/ccnodes.js"]
