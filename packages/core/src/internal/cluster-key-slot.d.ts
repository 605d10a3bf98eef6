// cluster-key-slot ships no type declarations.
declare module 'cluster-key-slot' {
  /** CRC16 slot of a key (or Buffer), honouring hash tags. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
