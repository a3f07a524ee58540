/** REST routes on resources the socket does not carry: delete (admin only). */
import { resourcePath, restApi } from "../../common/restApi";

export const resourcesApi = restApi.injectEndpoints({
  endpoints: (build) => ({
    // The hub answers 204 and tells every subscriber (this tab too) with a `removed` frame.
    deleteResource: build.mutation<null, string>({
      query: (resource) => ({ url: `resources/${resourcePath(resource)}`, method: "DELETE" }),
      invalidatesTags: (_result, _error, resource) => [{ type: "History", id: resource }],
    }),
  }),
});

export const { useDeleteResourceMutation } = resourcesApi;
