// libheif-js ships emscripten's raw declarations only; these are the calls raw_image.ts makes, with
// the shapes of libheif's own embind layer (libheif/api/libheif/heif_emscripten.h).
declare module "libheif-js/wasm-bundle.js" {
  type Context = { readonly __brand: "heif_context" };
  type Handle = { readonly __brand: "heif_image_handle" };
  interface HeifError {
    code: number;
    message: string;
  }
  interface Channel {
    id: unknown;
    width: number;
    height: number;
    stride: number;
    data: Uint8Array;
  }
  interface DecodedImage {
    image: unknown;
    width: number;
    height: number;
    channels: Channel[];
  }
  interface LibHeif {
    heif_error_code: { heif_error_Ok: number };
    heif_colorspace: { heif_colorspace_RGB: unknown };
    heif_chroma: { heif_chroma_interleaved_RGB: unknown };
    heif_channel: { heif_channel_interleaved: unknown };
    heif_context_alloc(): Context;
    heif_context_free(ctx: Context): void;
    heif_context_read_from_memory(ctx: Context, bytes: Uint8Array): HeifError;
    /** The handle, or an error object with a code. */
    heif_js_context_get_primary_image_handle(ctx: Context): Handle | HeifError;
    heif_image_handle_get_width(handle: Handle): number;
    heif_image_handle_get_height(handle: Handle): number;
    heif_image_handle_release(handle: Handle): void;
    heif_js_decode_image2(handle: Handle, colorspace: unknown, chroma: unknown): Promise<DecodedImage | HeifError>;
    heif_image_release(image: unknown): void;
  }
  const libheif: LibHeif;
  export default libheif;
}
