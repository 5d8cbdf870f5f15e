/**
 * Connection files: how a front end tells a kernel where to listen and which key signs messages.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { ConnectionInfo } from "./protocol";

/** The five port fields of a connection file. */
export const PORT_FIELDS = ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"] as const;

/** Read and check a connection file; throws an error naming the file and the bad field. */
export function readConnectionFile(file: string): ConnectionInfo {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read connection file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`connection file ${file} is not JSON: ${(err as Error).message}`);
  }
  return checkConnectionInfo(raw, file);
}

/** Check the fields of a parsed connection file. */
export function checkConnectionInfo(raw: unknown, source = "connection info"): ConnectionInfo {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  const transport = r.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new Error(`${source}: transport must be "tcp" or "ipc", found ${JSON.stringify(transport)}`);
  }
  if (typeof r.ip !== "string" || r.ip === "") {
    throw new Error(`${source}: ip must be a non-empty string, found ${JSON.stringify(r.ip)}`);
  }
  for (const f of PORT_FIELDS) {
    const v = r[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > 65535) {
      throw new Error(`${source}: ${f} must be a port number 1-65535, found ${JSON.stringify(v)}`);
    }
  }
  if (typeof r.key !== "string") {
    throw new Error(`${source}: key must be a string, found ${JSON.stringify(r.key)}`);
  }
  const scheme = r.signature_scheme ?? "hmac-sha256";
  if (typeof scheme !== "string") {
    throw new Error(`${source}: signature_scheme must be a string, found ${JSON.stringify(scheme)}`);
  }
  return {
    transport,
    ip: r.ip,
    shell_port: r.shell_port as number,
    iopub_port: r.iopub_port as number,
    stdin_port: r.stdin_port as number,
    control_port: r.control_port as number,
    hb_port: r.hb_port as number,
    key: r.key,
    signature_scheme: scheme,
    ...(typeof r.kernel_name === "string" ? { kernel_name: r.kernel_name } : {}),
  };
}

/** The ZeroMQ endpoint of one channel's port, e.g. `tcp://127.0.0.1:5555`. */
export function endpoint(info: ConnectionInfo, port: number): string {
  if (info.transport === "ipc") return `ipc://${info.ip}-${port}`;
  const host = info.ip.includes(":") ? `[${info.ip}]` : info.ip;
  return `tcp://${host}:${port}`;
}

/**
 * `count` distinct TCP ports that are free on `ip` right now (the OS picks them: listen on port 0).
 * All are held open together so they differ, then released for the kernel to bind.
 */
export async function freePorts(count: number, ip = "127.0.0.1"): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port: 0, host: ip, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** A fresh connection on 127.0.0.1: free ports picked now and a random 256-bit key. */
export async function newConnectionInfo(ip = "127.0.0.1"): Promise<ConnectionInfo> {
  const [shell_port, iopub_port, stdin_port, control_port, hb_port] = await freePorts(5, ip);
  return {
    transport: "tcp",
    ip,
    shell_port,
    iopub_port,
    stdin_port,
    control_port,
    hb_port,
    key: randomBytes(32).toString("hex"),
    signature_scheme: "hmac-sha256",
  };
}

/** Write a connection file readable only by this user (it holds the signing key); returns its path. */
export function writeConnectionFile(info: ConnectionInfo, file?: string): string {
  const target = file ?? path.join(os.tmpdir(), `tsdl-kernel-${randomUUID()}.json`);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, target);
  return target;
}
