# hotline114 service image: TypeScript compiled with tsc, run with plain node.
# Node.js 24 (LTS, supported until April 2028); package.json "engines" says which lines are supported (README).
#   docker build -t hotline114 .        (docker-compose.yml does this as service "hotline114")

# ---- build: all dependencies, compile, then drop the dev dependencies
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc only emits .js: copy every non-TypeScript file under src/ (web pages, JSON, ...) to the
# same place under dist/, so code that locates assets relative to __dirname works in both.
RUN npm run build \
 && (cd src && find . -type f ! -name '*.ts' -exec cp --parents {} ../dist/ \;) \
 && npm prune --omit=dev --no-audit --no-fund

# ---- prompts: the Chinese voice prompts for Asterisk (not part of the service image, which needs none of this).
#   docker build --target prompts -t hotline114-prompts .
#   docker run --rm --user "$(id -u)" -v "$PWD/out:/out" hotline114-prompts   → out/welcome.wav, out/num/5.wav, ...
# docker-compose.yml runs it once into the volume that Asterisk mounts as sounds/zh/hotline114.
# The script uses Node built-ins only: the compiled file, the text table and the recorded overrides suffice.
FROM node:24-bookworm-slim AS prompts
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /out && chown node:node /out
WORKDIR /app
COPY --from=build /app/dist/cli/prompts.js ./dist/cli/prompts.js
COPY sounds/prompts.json ./sounds/prompts.json
COPY sounds/custom ./sounds/custom
ENV PROMPTS_OUT_DIR=/out
USER node
CMD ["node", "dist/cli/prompts.js"]

# ---- runtime
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# Applied by the service at start (MIGRATE_ON_START, default true); found as ../../migrations
# from dist/infra/migrate.js.
COPY --chown=node:node migrations ./migrations
USER node
EXPOSE 3000
# Liveness: the process answers HTTP. /health itself reports database/redis/ari/ami up or down.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(()=>process.exit(0),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
