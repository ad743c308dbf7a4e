// Types for the part of hpack.js (HPACK, RFC 7541, in plain JavaScript) the trace uses.
declare module "hpack.js" {
  interface Header {
    name: string;
    value: string;
    neverIndex?: boolean;
  }
  interface Decompressor {
    write(block: Uint8Array): boolean;
    execute(callback?: (error: Error | null) => void): void;
    read(): Header | null;
  }
  interface Compressor {
    write(headers: Header[]): boolean;
    read(): Buffer | null;
  }
  const hpack: {
    decompressor: { create(options: { table: { size: number } }): Decompressor };
    compressor: { create(options: { table: { size: number } }): Compressor };
  };
  namespace hpack {
    export type { Decompressor, Compressor, Header };
  }
  export default hpack;
}
