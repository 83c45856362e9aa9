# plandb's worker (temporal-dev.yml's plandb-worker service): `docker build -t plandb .`
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm
# Backups run pg_dump/pg_restore of the server's major (15, as in the compose file's PostgreSQL).
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client-15 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The migrator reads its SQL from the source tree (db/migrator.ts).
COPY db/migrations ./db/migrations
COPY plandb.config.example.json ./
CMD ["node", "bin/plandb.js", "worker"]
