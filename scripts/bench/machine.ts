import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  tools: Record<string, string>;
  loadStart: number[];
  loadEnd?: number[];
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await exec(cmd, args);
    const line = (stdout || stderr).trim().split('\n')[0]!.trim();
    // curl's first line goes on to list every library it links; the version is enough.
    return line.replace(/ libcurl\/.*$/, '');
  } catch {
    return 'not installed';
  }
}

export async function describeMachine(): Promise<Machine> {
  const c = cpus();
  const entries = await Promise.all(
    ([
      ['skopeo', ['--version']],
      ['ctr', ['--version']],
      ['containerd', ['--version']],
      ['docker-registry', ['--version']],
      ['curl', ['--version']],
      ['sha256sum', ['--version']],
      ['openssl', ['version']],
      ['tar', ['--version']],
    ] as Array<[string, string[]]>).map(async ([cmd, args]) => [cmd, await firstLine(cmd, args)] as const),
  );
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    tools: Object.fromEntries(entries),
    loadStart: loadavg(),
  };
}
