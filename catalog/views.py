from rest_framework import generics

from catalog.models import Product
from catalog.serializers import ProductSerializer


class ProductList(generics.ListAPIView):
    authentication_classes = []
    serializer_class = ProductSerializer
    queryset = Product.objects.active()


class ProductDetail(generics.RetrieveAPIView):
    authentication_classes = []
    serializer_class = ProductSerializer
    queryset = Product.objects.active()
