# syntax=docker/dockerfile:1
# ccnodes webhook image. Build from the repository root:
#   docker build -f deploy/docker/webhook.Dockerfile -t ghcr.io/ccnodes/ccnodes-webhook:0.1.0 .
# Every component runs the same `ccnodes` CLI (TypeScript run through tsx, no build step); the image
# differs in the user it runs as and what it is allowed to do.
# Non-root (uid 65532), no capabilities; meets Pod Security "restricted".

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

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /app /app
USER 65532
ENV NODE_ENV=production
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/ccnodes.js"]
