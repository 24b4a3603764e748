import { problemOf, type ApiProblem } from './api.js';

/**
 * A file upload that reports its progress (fetch does not report an upload's progress;
 * XMLHttpRequest does), with the session's CSRF token. Resolves with the answer's JSON, rejects
 * with the API's problem.
 */
export function uploadWithProgress<T>(path: string, body: Blob, contentType: string, csrfToken: string | null, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('content-type', contentType);
    request.setRequestHeader('accept', 'application/json');
    if (csrfToken) request.setRequestHeader('x-csrf-token', csrfToken);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    request.onerror = () => reject(problemOf(0, null));
    request.onload = () => {
      let json: unknown = null;
      try {
        json = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        json = null;
      }
      onProgress(1);
      if (request.status >= 200 && request.status < 300) resolve(json as T);
      else reject(problemOf(request.status, json, request.getResponseHeader('retry-after')) as ApiProblem);
    };
    request.send(body);
  });
}
