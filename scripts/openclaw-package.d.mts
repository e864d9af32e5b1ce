/** Types of scripts/openclaw-package.mjs (plain JavaScript so it runs from a bare checkout). */
export declare const ROOT: string;
export declare const PLUGIN_PACKAGE_NAME: string;
export declare function importClosure(entry?: string): { files: string[]; packages: Map<string, string> };
export declare function stagePluginPackage(o?: { out?: string; prebuilds?: string }): {
  stage: string;
  files: string[];
  dependencies: Record<string, string>;
  pkg: Record<string, unknown> & { name: string; version: string };
};
