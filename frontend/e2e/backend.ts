import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const frontendDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(frontendDir, '..');
export const artifactsDir = resolve(frontendDir, 'e2e', 'artifacts');

// A database of this run's own, so two runs on one machine never drop each other's.
const DATABASE_NAME = `karmafeed_e2e_${randomUUID().slice(0, 8)}`;
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${DATABASE_NAME}`;
const REDIS_URL = 'redis://127.0.0.1:6379/14';
const REDIS_DATABASE = '14';
const HEALTH_TIMEOUT_MS = 180_000;

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function psql(sql: string): void {
  const result = spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`psql failed for "${sql}": ${result.stderr || result.error?.message}`);
}

function recreateDatabase(): void {
  dropDatabase();
  psql(`CREATE DATABASE ${DATABASE_NAME}`);
}

function dropDatabase(): void {
  psql(`DROP DATABASE IF EXISTS ${DATABASE_NAME} WITH (FORCE)`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/**
 * The real backend, started with `make serve` on a free loopback port against a
 * fresh database, in its own process group so that stopping it stops uvicorn too.
 * Its Redis keys and channels are fresh as well: stream positions, backlogs and
 * like-count versions kept from an earlier database would name other posts and
 * comments (a comment's first like, version 1, would be taken for a repeat).
 */
export class Backend {
  readonly port: number;
  readonly baseUrl: string;
  private process: ChildProcess | null = null;
  private readonly logPath: string;
  private readonly redisPrefix = `karmafeed-e2e-${randomUUID().slice(0, 12)}`;

  private constructor(port: number) {
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.logPath = resolve(artifactsDir, 'server.log');
  }

  static async start(): Promise<Backend> {
    mkdirSync(artifactsDir, { recursive: true });
    recreateDatabase();
    const backend = new Backend(await freeLoopbackPort());
    await backend.launch();
    return backend;
  }

  /** Stops the server for good, drops its database and deletes the Redis keys under its own prefix, and no others. */
  async dispose(): Promise<void> {
    await this.stop();
    dropDatabase();
    const scan = spawnSync('redis-cli', ['-n', REDIS_DATABASE, '--scan', '--pattern', `${this.redisPrefix}*`], { encoding: 'utf8' });
    const keys = scan.stdout.split('\n').filter((key) => key.startsWith(this.redisPrefix));
    for (let start = 0; start < keys.length; start += 500) {
      spawnSync('redis-cli', ['-n', REDIS_DATABASE, 'UNLINK', ...keys.slice(start, start + 500)], { encoding: 'utf8' });
    }
  }

  /** Runs `make serve` and waits for health; after `stop()` it brings the same server back on the same port and database. */
  async launch(): Promise<void> {
    const log = createWriteStream(this.logPath, { flags: 'a' });
    log.write(`\n--- make serve PORT=${this.port} at ${new Date().toISOString()}\n`);
    const child = spawn('make', ['-C', repoRoot, 'serve', `PORT=${this.port}`], {
      env: { ...process.env, DATABASE_URL, REDIS_URL, REDIS_CHANNEL_PREFIX: this.redisPrefix },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.process = child;
    await this.waitUntilHealthy(child);
  }

  private async waitUntilHealthy(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`make serve exited with ${child.exitCode} before it was healthy:\n${this.logTail()}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/api/health/`);
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await sleep(500);
    }
    throw new Error(`The backend did not answer /api/health/ within ${HEALTH_TIMEOUT_MS / 1000} s:\n${this.logTail()}`);
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  /** Stops the server process group: SIGTERM first, SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // The group is already gone.
      }
    };
    signalGroup('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!stopped) {
      signalGroup('SIGKILL');
      await exited;
    }
    // uvicorn may outlive make by a moment; make sure nothing of the group is left.
    signalGroup('SIGKILL');
  }
}
