export declare const MOTO_VERSION: string;
export declare const MOTO_DIR: string;
export declare function installMoto(opts?: { quiet?: boolean }): { python: string; pythonPath: string };
export declare function installedVersion(dir?: string): string | null;
