/**
 * The slice of protobuf (proto3 wire format) the CRI calls need: messages of strings, bytes,
 * bools, unsigned integers and nested messages. Unknown fields of any wire type but groups are
 * skipped on decode, as the spec asks, so newer runtimes with more fields stay readable.
 */
import { ProtobufError } from './errors.js';

/** Wire types (protobuf encoding spec). Groups (3, 4) are deprecated and never used by CRI. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

/** A field value to encode: strings and bytes and nested messages length-delimited, the rest varints. */
export type ProtoValue = string | Uint8Array | boolean | number | bigint | ProtoFields;
/** A message to encode: [field number, value] in order; undefined values are left out. */
export type ProtoFields = ReadonlyArray<readonly [number, ProtoValue | undefined]>;

const MAX_FIELD = 2 ** 29 - 1;

function varint(value: bigint, out: number[]): void {
  let v = BigInt.asUintN(64, value); // negative int64 goes out as ten bytes, two's complement
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function varintBytes(value: number | bigint): Buffer {
  const out: number[] = [];
  varint(BigInt(value), out);
  return Buffer.from(out);
}

export function encodeMessage(fields: ProtoFields): Buffer {
  const parts: Buffer[] = [];
  for (const [no, value] of fields) {
    if (value === undefined) continue;
    if (!Number.isInteger(no) || no < 1 || no > MAX_FIELD) throw new RangeError(`bad protobuf field number ${no}`);
    if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') {
      if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`field ${no}: ${value} is not an integer`);
      parts.push(varintBytes(no * 8 + WireType.VARINT), varintBytes(typeof value === 'boolean' ? Number(value) : value));
      continue;
    }
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value instanceof Uint8Array ? value : encodeMessage(value);
    parts.push(varintBytes(no * 8 + WireType.LEN), varintBytes(bytes.length), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return Buffer.concat(parts);
}

type Raw = bigint | Buffer;

/** A decoded message: typed reads by field number, proto3 defaults when a field is absent. */
export class ProtoMessage {
  constructor(private readonly fields: ReadonlyMap<number, readonly Raw[]>) {}

  /** Field numbers present, for tests and diagnostics. */
  get numbers(): number[] {
    return [...this.fields.keys()];
  }

  private last(no: number): Raw | undefined {
    const list = this.fields.get(no);
    return list?.[list.length - 1]; // for a non-repeated field the last one wins
  }

  private lenValues(no: number): Buffer[] {
    const out: Buffer[] = [];
    for (const v of this.fields.get(no) ?? []) {
      if (typeof v === 'bigint') throw new ProtobufError(`field ${no} should be length-delimited but is a varint`, { field: no });
      out.push(v);
    }
    return out;
  }

  private varintValue(no: number): bigint {
    const v = this.last(no);
    if (v === undefined) return 0n;
    if (typeof v !== 'bigint') throw new ProtobufError(`field ${no} should be a varint but is length-delimited`, { field: no });
    return v;
  }

  bytes(no: number): Buffer {
    return this.lenValues(no).at(-1) ?? Buffer.alloc(0);
  }

  string(no: number): string {
    return this.bytes(no).toString('utf8');
  }

  strings(no: number): string[] {
    return this.lenValues(no).map((b) => b.toString('utf8'));
  }

  bool(no: number): boolean {
    return this.varintValue(no) !== 0n;
  }

  /** uint64 / uint32 as a number (exact up to 2^53, which sizes in bytes never reach). */
  uint(no: number): number {
    return Number(this.varintValue(no));
  }

  has(no: number): boolean {
    return this.fields.has(no);
  }

  /** A nested message; repeated occurrences merge, as the spec says, by decoding them concatenated. */
  message(no: number): ProtoMessage | undefined {
    const parts = this.lenValues(no);
    return parts.length === 0 ? undefined : decodeMessage(Buffer.concat(parts));
  }

  messages(no: number): ProtoMessage[] {
    return this.lenValues(no).map((b) => decodeMessage(b));
  }

  /** map<string, string>: repeated entries { key = 1; value = 2; }, later keys win. */
  stringMap(no: number): Map<string, string> {
    const out = new Map<string, string>();
    for (const entry of this.messages(no)) out.set(entry.string(1), entry.string(2));
    return out;
  }
}

export function decodeMessage(buf: Uint8Array): ProtoMessage {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const fields = new Map<number, Raw[]>();
  let pos = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= b.length) throw new ProtobufError(`truncated varint at byte ${pos}`, { offset: pos });
      const byte = b[pos++]!;
      v |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, v);
    }
    throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`, { offset: pos });
  };
  const take = (n: number, what: string): Buffer => {
    if (n > b.length - pos) throw new ProtobufError(`truncated ${what} at byte ${pos}: ${n} bytes declared, ${b.length - pos} left`, { offset: pos });
    const out = b.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < b.length) {
    const at = pos;
    const key = readVarint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (no < 1 || no > MAX_FIELD) throw new ProtobufError(`bad field number ${no} at byte ${at}`, { offset: at });
    let value: Raw;
    switch (wire) {
      case WireType.VARINT:
        value = readVarint();
        break;
      case WireType.I64:
        value = take(8, 'fixed64').readBigUInt64LE(0);
        break;
      case WireType.I32:
        value = BigInt(take(4, 'fixed32').readUInt32LE(0));
        break;
      case WireType.LEN: {
        const len = readVarint();
        if (len > BigInt(b.length - pos)) {
          throw new ProtobufError(`truncated field ${no} at byte ${at}: ${len} bytes declared, ${b.length - pos} left`, { offset: at, field: no });
        }
        value = take(Number(len), `field ${no}`);
        break;
      }
      default:
        throw new ProtobufError(`unsupported wire type ${wire} (field ${no}) at byte ${at}`, { offset: at, field: no, wireType: wire });
    }
    const list = fields.get(no);
    if (list) list.push(value);
    else fields.set(no, [value]);
  }
  return new ProtoMessage(fields);
}
