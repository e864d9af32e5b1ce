/** Types of scripts/build-ts.mjs (plain JavaScript so it runs before anything is built). */
export declare const ROOT: string;
export declare const STAMP: string;
export declare function staleReason(root?: string): string | null;
export declare function build(root?: string, log?: (s: string) => void): Promise<number>;
export declare function ensureBuilt(root?: string, log?: (s: string) => void): Promise<number>;
export declare const BUNDLE_BANNER: string;
export declare function bundleCli(root?: string): Promise<string>;
