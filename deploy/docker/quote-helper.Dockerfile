# syntax=docker/dockerfile:1
# ccnodes quote-helper image. Build from the repository root:
#   docker build -f deploy/docker/quote-helper.Dockerfile -t ghcr.io/ccnodes/ccnodes-quote-helper:0.1.0 .
# Every component runs the same `ccnodes` CLI (TypeScript run through tsx, no build step); the image
# differs in the user it runs as and what it is allowed to do.
# Privileges: runs as root (uid 0) to create /var/run/aesmd/aesm.socket in a root-owned host
# directory (the socket is mode 0777 so any app container can use it); no capabilities, no
# privilege escalation, read-only root filesystem, no Kubernetes API token.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Toolchain only for native modules (better-sqlite3) when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src

FROM gcr.io/distroless/nodejs20-debian12:latest
WORKDIR /app
COPY --from=build /app /app
USER 0
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/ccnodes.js"]
