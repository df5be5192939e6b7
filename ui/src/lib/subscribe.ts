/**
 * Keep an event subscription for as long as a component is mounted: use as
 * `onMount(() => subscribeWhileMounted(() => onFileDrop(...)))`.
 */
export function subscribeWhileMounted(start: () => Promise<() => void>): () => void {
  let stop: (() => void) | null = null;
  let disposed = false;
  start()
    .then((unlisten) => {
      if (disposed) unlisten();
      else stop = unlisten;
    })
    .catch(() => {
      // No events without the webview API: the buttons and Refresh still work.
    });
  return () => {
    disposed = true;
    stop?.();
  };
}
