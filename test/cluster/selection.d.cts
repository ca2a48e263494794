declare const selection: string[];
export = selection;
