/** An event as the REST API and the SSE stream return it; shared by the CLI and the web page. */
export interface ApiEvent {
  id: number;
  time: number;
  at: string;
  kind: string;
  node: string;
  resource?: string;
  process?: string;
  pid?: number;
  reason?: string;
  failureId?: string;
  [k: string]: unknown;
}
